import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { groupPartitionOf, groupPartitions, type EventTopology } from '@tidings/messaging';
import { consumerGroupOf, type Projection } from './projection';

/** Events read per page while looking for events that lagging partitions have not applied. */
const SCAN_PAGE = 2_000;

/** What applies a category's events to tables readers query: a consumer group (a projection's, or a saga trigger's), and the categories it reads. */
export type EventApplier = Readonly<{ group: string; categories: readonly string[] }>;

export const applierOf = (projection: Projection): EventApplier => ({ group: consumerGroupOf(projection), categories: projection.categories });

/**
 * Read-your-writes: whether a consumer group has applied every event of its categories at or
 * before a position. Partitions advance independently and an idle one never reaches a later
 * position, so a partition behind the position counts as caught up when the store holds none
 * of its events between its checkpoint and the position. What has been found applied once is
 * remembered, so each event is looked at about once however long a partition stays idle.
 */
export class AppliedPositions {
  /** Per consumer group: every event of its categories at or before this position is applied. */
  private readonly verified = new Map<string, bigint>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly topology: EventTopology,
  ) {}

  async hasApplied(applier: EventApplier, position: bigint): Promise<boolean> {
    const verified = this.verified.get(applier.group) ?? 0n;
    if (position <= verified) return true;
    const { rows } = await this.pool.query<{ partition: number; position: string }>({
      name: 'tidings_projection_checkpoints',
      text: 'SELECT partition, position FROM checkpoints WHERE consumer_group = $1',
      values: [applier.group],
    });
    const checkpoints = new Map(rows.map((row) => [row.partition, BigInt(row.position)]));
    const appliedThrough = (partition: number) => {
      const checkpoint = checkpoints.get(partition) ?? 0n;
      return checkpoint > verified ? checkpoint : verified;
    };
    let from = position;
    const partitions = groupPartitions(this.topology, applier.categories);
    for (let partition = 0; partition < partitions; partition++) if (appliedThrough(partition) < from) from = appliedThrough(partition);
    if (from < position) {
      // What $all cannot show yet cannot be judged: the position must be readable first.
      if ((await this.store.headPosition()) < position) return false;
      while (from < position) {
        const events = await this.store.readAll({ fromPosition: from, limit: SCAN_PAGE });
        if (events.length === 0) break;
        for (const event of events) {
          if (event.position > position) break;
          const partition = groupPartitionOf(this.topology, applier.categories, event.streamId);
          if (partition !== undefined && event.position > appliedThrough(partition)) return false;
        }
        from = events[events.length - 1].position;
      }
    }
    // Checks run concurrently: the furthest one verified stands.
    if (position > (this.verified.get(applier.group) ?? 0n)) this.verified.set(applier.group, position);
    return true;
  }

  /** Waits until `hasApplied` (true), or `timeoutMs` passed (false). */
  async waitUntilApplied(applier: EventApplier, position: bigint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      if (await this.hasApplied(applier, position)) return true;
      if (Date.now() + wait > deadline) return false;
      await sleep(wait);
    }
  }
}
