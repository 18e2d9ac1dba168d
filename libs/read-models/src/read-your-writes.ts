import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { categoryOf, partitionOf, type EventTopology } from '@tidings/messaging';
import { consumerGroupOf, type Projection } from './projection';

/** Events looked at to decide whether lagging partitions have anything left to apply. */
const SCAN_LIMIT = 2_000;

/**
 * Whether the projection has applied every event of its categories at or before `position`.
 * Partitions advance independently and an idle one never reaches a later position, so a
 * partition behind `position` counts as caught up when the store holds none of its events
 * between its checkpoint and `position` (usually a handful of just-appended events to look at).
 */
export async function hasApplied(pool: Pool, store: EventStore, topology: EventTopology, projection: Projection, position: bigint): Promise<boolean> {
  const { rows } = await pool.query<{ partition: number; position: string }>({
    name: 'tidings_projection_checkpoints',
    text: 'SELECT partition, position FROM checkpoints WHERE consumer_group = $1',
    values: [consumerGroupOf(projection)],
  });
  const checkpoints = new Map(rows.map((row) => [row.partition, BigInt(row.position)]));
  const checkpointOf = (partition: number) => checkpoints.get(partition) ?? 0n;
  let from = position;
  for (let partition = 0; partition < topology.partitions; partition++) if (checkpointOf(partition) < from) from = checkpointOf(partition);
  if (from >= position) return true;
  // What $all cannot show yet cannot be judged: the position must be readable first.
  if ((await store.headPosition()) < position) return false;
  const events = await store.readAll({ fromPosition: from, limit: SCAN_LIMIT });
  const relevant = events.filter((event) => event.position <= position);
  if (relevant.length === events.length && events.length === SCAN_LIMIT && events[events.length - 1].position < position) return false;
  return relevant.every(
    (event) => !projection.categories.includes(categoryOf(event.streamId)) || event.position <= checkpointOf(partitionOf(event.streamId, topology.partitions)),
  );
}

/** Waits until `hasApplied` (true), or `timeoutMs` passed (false). */
export async function waitUntilApplied(
  pool: Pool,
  store: EventStore,
  topology: EventTopology,
  projection: Projection,
  position: bigint,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (await hasApplied(pool, store, topology, projection, position)) return true;
    if (Date.now() + wait > deadline) return false;
    await sleep(wait);
  }
}
