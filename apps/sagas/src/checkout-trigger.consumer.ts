import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { CHECKOUT_TRIGGER, checkoutsNudged, checkoutsScheduled } from '@tidings/checkout';
import { DEFAULT_BATCHING, type Batch, type ConsumerGroup } from '@tidings/messaging';
import type { OrderEvent } from '@tidings/orders';
import { checkpointsSaved, freshEvents, inTransaction, JointBatches, KnownCheckpoints, openBatches, pipelined, readCheckpoint, type BatchOutcome, type SavedCheckpoint, type Statement } from '@tidings/read-models';

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
  /** Where this member's commits left its partitions: its next batches go in one round trip. */
  private readonly known = new KnownCheckpoints(CHECKOUT_TRIGGER.group);

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
    // Batches whose checkpoints this member left go in one round trip; the others are opened first.
    const scheduled =
      (await this.known.applyAtOnce(this.pool, batches, (fresh) => triggered(fresh.flatMap(({ events }) => events as readonly RecordedEvent<OrderEvent>[])))) ||
      (await this.openAndApply(batches));
    if (scheduled) this.onDue();
    return batches.map(() => 'applied');
  }

  /** Opens the batches, reading their checkpoints, and applies their events after them; whether any was new. */
  private async openAndApply(batches: readonly Batch[]): Promise<boolean> {
    const committed: SavedCheckpoint[] = [];
    const scheduled = await inTransaction(this.pool, async (db) => {
      const checkpoints = await openBatches(db, batches.map(({ lease }) => ({ lease, streamIds: [] })));
      const fresh: RecordedEvent<OrderEvent>[] = [];
      for (const [i, { lease, events }] of batches.entries()) {
        const after = freshEvents(events, checkpoints[i].position) as RecordedEvent<OrderEvent>[];
        fresh.push(...after);
        committed.push({ partition: lease.partition, position: after.length > 0 ? after[after.length - 1].position : checkpoints[i].position });
      }
      if (fresh.length === 0) return false;
      const saved = committed.filter((checkpoint, i) => checkpoint.position > checkpoints[i].position);
      await pipelined(...[checkpointsSaved(this.name, saved), ...triggered(fresh)].map((statement) => db.query(statement)));
      return true;
    });
    this.known.committed(committed);
    return scheduled;
  }
}

/** What order events ask of the sagas: a placed order's saga scheduled, a cancellation's nudged. */
const triggered = (events: readonly RecordedEvent<OrderEvent>[]): Statement[] => [
  ...checkoutsScheduled(events.filter((event) => event.type === 'OrderPlaced').map((event) => event.data.orderId)),
  ...checkoutsNudged(events.filter((event) => event.type === 'OrderCancellationRequested').map((event) => event.data.orderId)),
];
