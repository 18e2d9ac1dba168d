import type { RecordedEvent } from '@tidings/core';
import type { Lease } from './partition-leases';

/** What the runtime hands a group: one of its partitions' events in stream order, under a lease (see groupPartitions). */
export type Batch = Readonly<{ lease: Lease; events: readonly RecordedEvent[] }>;

/**
 * A consumer group (ARCHITECTURE §5), e.g. `projection.products`. `handle` applies a batch
 * exactly once and says whether the partition may go on; whatever it throws is treated as
 * transient: the batch is redelivered after a backoff and nothing is skipped.
 */
export interface ConsumerGroup {
  readonly name: string;
  /** Stream categories it reads, e.g. `['product']`. */
  readonly categories: readonly string[];
  handle(batch: Batch): Promise<'applied' | 'blocked'>;
  /** The position a partition has applied up to: where its consumer resumes. */
  checkpoint(partition: number): Promise<bigint>;
}
