import { Coalescer, type Waiting } from '@tidings/core';
import type { Batch } from '@tidings/messaging';

export type BatchOutcome = 'applied' | 'blocked';

/** Applies batches of different partitions in one transaction; an outcome per batch, in the order given. */
export type ApplyTogether = (batches: readonly Batch[]) => Promise<BatchOutcome[]>;

/** Batches of a group's partitions applied together at once, at most: while they are, the next ones gather. */
const IN_FLIGHT = 2;

/**
 * A group's partitions each deliver their own batches, and at a steady rate spread over many
 * partitions each batch is small: a transaction, a checkpoint and their round trips for an event
 * or two. The batches that are ready while others are being applied go together in one
 * transaction instead — each still under its own lease and checkpoint — up to `maxEvents`. Should
 * the joint transaction fail, each batch is applied again on its own, so a poison event holds up
 * only its own partition. Batches go in partition order, the order rebuild locks checkpoints in.
 */
export class JointBatches {
  private readonly batches: Coalescer<Batch, BatchOutcome>;

  constructor(
    private readonly applyTogether: ApplyTogether,
    maxEvents: number,
  ) {
    this.batches = new Coalescer((waiting) => this.serve(waiting), { maxInFlight: IN_FLIGHT, batchRule: () => upTo(maxEvents) });
  }

  apply(batch: Batch): Promise<BatchOutcome> {
    return this.batches.submit(batch);
  }

  private async serve(waiting: Waiting<Batch, BatchOutcome>[]): Promise<void> {
    const inOrder = [...waiting].sort((a, b) => a.lease.partition - b.lease.partition);
    try {
      const outcomes = await this.applyTogether(inOrder);
      inOrder.forEach((batch, i) => batch.resolve(outcomes[i]));
    } catch (error) {
      if (inOrder.length === 1) inOrder[0].reject(error);
      else await Promise.all(inOrder.map((batch) => this.serve([batch])));
    }
  }
}

function upTo(maxEvents: number): (batch: Batch) => boolean {
  let events = 0;
  return (batch) => {
    if (events > 0 && events + batch.events.length > maxEvents) return false;
    events += batch.events.length;
    return true;
  };
}
