import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { nudgeCheckouts, scheduleCheckouts } from '@tidings/checkout';
import type { Batch, ConsumerGroup } from '@tidings/messaging';
import type { OrderEvent } from '@tidings/orders';
import { inTransaction, openBatch, readCheckpoint, saveCheckpoint } from '@tidings/read-models';

/**
 * The consumer group `saga.checkout`: a placed order gets its saga row, due at once; a
 * cancellation request makes its saga due at once. Written with the partition's checkpoint in
 * one transaction, so a redelivered order starts nothing twice. The sagas themselves are driven
 * by the scheduler, off the partition, so a slow payment never holds up other orders.
 */
export class CheckoutTrigger implements ConsumerGroup {
  readonly name = 'saga.checkout';
  readonly categories = ['order'];

  constructor(
    private readonly pool: Pool,
    private readonly onDue: () => void,
  ) {}

  async handle({ lease, events }: Batch): Promise<'applied' | 'blocked'> {
    const scheduled = await inTransaction(this.pool, async (db) => {
      const { position } = await openBatch(db, lease, []);
      const fresh = (events as readonly RecordedEvent<OrderEvent>[]).filter((event) => event.position > position);
      if (fresh.length === 0) return false;
      await scheduleCheckouts(db, fresh.filter((event) => event.type === 'OrderPlaced').map((event) => event.data.orderId));
      await nudgeCheckouts(db, fresh.filter((event) => event.type === 'OrderCancellationRequested').map((event) => event.data.orderId));
      const last = fresh.reduce((highest, event) => (event.position > highest ? event.position : highest), position);
      await saveCheckpoint(db, this.name, lease.partition, last);
      return true;
    });
    if (scheduled) this.onDue();
    return 'applied';
  }

  checkpoint(partition: number): Promise<bigint> {
    return readCheckpoint(this.pool, this.name, partition);
  }
}
