import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { chunkWorkOfStart, type ImportStarted } from '@tidings/imports';
import type { Batch, ConsumerGroup, WorkItem } from '@tidings/messaging';
import { inTransaction, openBatch, readCheckpoint, saveCheckpoint } from '@tidings/read-models';

/**
 * The consumer group `saga.imports`: publishes the chunks of every started import to the work
 * queue, from the store's record of the start. The API publishes them as it answers; this makes
 * a job run all the same when the API process died between `ImportStarted` and its publish, or
 * the publish failed. Under the same ids, within JetStream's duplicate window (15 minutes), a
 * chunk is queued once; later, a chunk queued again is imported again, which changes nothing.
 */
export class ImportWorkTrigger implements ConsumerGroup {
  readonly name = 'saga.imports';
  readonly categories = ['import'];

  constructor(
    private readonly pool: Pool,
    private readonly publish: (work: readonly WorkItem[]) => Promise<void>,
  ) {}

  async handle({ lease, events }: Batch): Promise<'applied' | 'blocked'> {
    // Published before the checkpoint's transaction, not inside it: a transaction must not sit idle while JetStream
    // answers (the pool ends one idle for twice the lease TTL). A chunk published again, after a crash or by a member
    // that has just lost the partition, is queued once (above).
    const checkpoint = await readCheckpoint(this.pool, this.name, lease.partition);
    const started = events.filter((event): event is RecordedEvent<ImportStarted> => event.position > checkpoint && event.type === 'ImportStarted');
    await this.publish(started.flatMap(chunkWorkOfStart));
    await inTransaction(this.pool, async (db) => {
      const { position } = await openBatch(db, lease, []);
      const last = events.reduce((highest, event) => (event.position > highest ? event.position : highest), position);
      if (last > position) await saveCheckpoint(db, this.name, lease.partition, last);
    });
    return 'applied';
  }

  checkpoint(partition: number): Promise<bigint> {
    return readCheckpoint(this.pool, this.name, partition);
  }
}
