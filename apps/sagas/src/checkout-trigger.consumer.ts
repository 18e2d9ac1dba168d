import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { CHECKOUT_TRIGGER, nudgeCheckouts, scheduleCheckouts } from '@tidings/checkout';
import { DEFAULT_BATCHING, type Batch, type ConsumerGroup } from '@tidings/messaging';
import type { OrderEvent } from '@tidings/orders';
import { inTransaction, JointBatches, openBatches, pipelined, readCheckpoint, saveCheckpoints, type BatchOutcome } from '@tidings/read-models';

/**
 * The consumer group `saga.checkout`: a placed order gets its saga row, due at once; a
 * cancellation request makes its saga due at once. Written with the partitions' checkpoints in
 * one transaction (partitions whose batches are ready together share it), so a redelivered
 * order starts nothing twice. The sagas themselves are driven by the scheduler, off the
 * partition, so a slow payment never holds up other orders.
 */
export class CheckoutTrigger implements ConsumerGroup {
  readonly name = CHECKOUT_TRIGGER.group;
  readonly categories = CHECKOUT_TRIGGER.categories;
  private readonly joint = new JointBatches((batches) => this.applyTogether(batches), DEFAULT_BATCHING.maxEvents);

  constructor(
    private readonly pool: Pool,
    private readonly onDue: () => void,
  ) {}

  handle(batch: Batch): Promise<BatchOutcome> {
    return this.joint.apply(batch);
  }

  checkpoint(partition: number): Promise<bigint> {
    return readCheckpoint(this.pool, this.name, partition);
  }

  private async applyTogether(batches: readonly Batch[]): Promise<BatchOutcome[]> {
    const scheduled = await inTransaction(this.pool, async (db) => {
      const checkpoints = await openBatches(db, batches.map(({ lease }) => ({ lease, streamIds: [] })));
      const fresh: RecordedEvent<OrderEvent>[] = [];
      const saved = [];
      for (const [i, { lease, events }] of batches.entries()) {
        const { position } = checkpoints[i];
        const after = (events as readonly RecordedEvent<OrderEvent>[]).filter((event) => event.position > position);
        if (after.length === 0) continue;
        fresh.push(...after);
        saved.push({ partition: lease.partition, position: after.reduce((highest, event) => (event.position > highest ? event.position : highest), position) });
      }
      if (saved.length === 0) return false;
      await pipelined(
        saveCheckpoints(db, this.name, saved),
        scheduleCheckouts(db, fresh.filter((event) => event.type === 'OrderPlaced').map((event) => event.data.orderId)),
        nudgeCheckouts(db, fresh.filter((event) => event.type === 'OrderCancellationRequested').map((event) => event.data.orderId)),
      );
      return true;
    });
    if (scheduled) this.onDue();
    return batches.map(() => 'applied');
  }
}
