import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import type { Batch, Lease } from '@tidings/messaging';
import { batchesExpected, checkpointsSaved, isUnexpectedBatch, type SavedCheckpoint } from './checkpoints';
import { transactAtOnce, type Statement } from './transaction';

/** A partition's checkpoint as a member's commit left it: its position, and the tables it was written against (none for a group without read model versions). */
type KnownCheckpoint = Readonly<{ position: bigint; readModelVersion: number | null }>;

/** A batch's events after its known checkpoint, and the tables that checkpoint was written against. */
export type FreshBatch = Readonly<{ lease: Lease; readModelVersion: number | null; events: readonly RecordedEvent[] }>;

/**
 * Where a consumer group member's own commits left its partitions' checkpoints. While nobody
 * else has moved them, the member's next batches need not be opened and read first: their
 * whole transaction goes in one round trip (applyAtOnce).
 */
export class KnownCheckpoints {
  private readonly known = new Map<number, KnownCheckpoint>();

  constructor(private readonly group: string) {}

  /** What a commit of this member left. */
  committed(checkpoints: readonly SavedCheckpoint[]): void {
    for (const { partition, position, readModelVersion } of checkpoints) this.known.set(partition, { position, readModelVersion: readModelVersion ?? null });
  }

  /**
   * The batches' transaction in one round trip, when every one of their checkpoints is known:
   * each expected where it is known to be (batchesExpected), the statements `write` makes of the
   * batches' events after their checkpoints (each batch's at most once, in position order), the
   * checkpoints moved, the commit. False, with nothing written, when a checkpoint is not known or
   * not as known (it is then forgotten): the caller opens the batches and reads their checkpoints.
   */
  async applyAtOnce(pool: Pool, batches: readonly Batch[], write: (fresh: readonly FreshBatch[]) => readonly Statement[]): Promise<boolean> {
    const known = batches.map(({ lease }) => this.known.get(lease.partition));
    if (known.some((checkpoint) => checkpoint === undefined)) return false;
    const fresh = batches
      .map(({ lease, events }, i) => ({ lease, ...(known[i] as KnownCheckpoint), events: freshEvents(events, (known[i] as KnownCheckpoint).position) }))
      .filter(({ events }) => events.length > 0);
    // Redelivered events this member has applied already: nothing to write.
    if (fresh.length === 0) return true;
    const saved = fresh.map(({ lease, readModelVersion, events }) => ({ partition: lease.partition, position: events[events.length - 1].position, ...(readModelVersion === null ? {} : { readModelVersion }) }));
    try {
      await transactAtOnce(pool, [
        batchesExpected(fresh.map(({ lease, position, readModelVersion, events }) => ({ lease, position, readModelVersion, streamIds: [...new Set(events.map((event) => event.streamId))] }))),
        ...write(fresh),
        checkpointsSaved(this.group, saved),
      ]);
    } catch (error) {
      if (!isUnexpectedBatch(error)) throw error;
      // Another member applied some meanwhile, a rebuild switched tables, a partition was blocked, or a stream has dead letters.
      for (const { lease } of batches) this.known.delete(lease.partition);
      return false;
    }
    this.committed(saved);
    return true;
  }
}

/**
 * The events after the checkpoint, each once and in position order. A redelivered message can
 * arrive in the same batch as newer ones; taken as it came, it would be applied twice and its
 * position, saved last, would move the checkpoint back.
 */
export function freshEvents(events: readonly RecordedEvent[], checkpoint: bigint): RecordedEvent[] {
  const atPosition = new Map<bigint, RecordedEvent>();
  for (const event of events) if (event.position > checkpoint && !atPosition.has(event.position)) atPosition.set(event.position, event);
  return [...atPosition.values()].sort(byPosition);
}

export const byPosition = (a: RecordedEvent, b: RecordedEvent): number => (a.position < b.position ? -1 : 1);
