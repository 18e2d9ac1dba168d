import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { chunkWorkOf, type ImportStarted } from '@tidings/imports';
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
    await inTransaction(this.pool, async (db) => {
      const { position } = await openBatch(db, lease, []);
      const fresh = events.filter((event) => event.position > position);
      if (fresh.length === 0) return;
      const started = fresh.filter((event): event is RecordedEvent<ImportStarted> => event.type === 'ImportStarted');
      await this.publish(started.flatMap((event) => chunkWorkOf(event.data.jobId, event.data.chunksTotal, event.metadata.actor)));
      const last = fresh.reduce((highest, event) => (event.position > highest ? event.position : highest), position);
      await saveCheckpoint(db, this.name, lease.partition, last);
    });
    return 'applied';
  }

  checkpoint(partition: number): Promise<bigint> {
    return readCheckpoint(this.pool, this.name, partition);
  }
}
