import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { AckPolicy, DeliverPolicy, type Consumer, type NatsConnection } from 'nats';
import type { RecordedEvent } from '@tidings/core';
import type { ConsumerGroup } from './consumer-group';
import { DEFAULT_BATCHING, Deliveries, type Batching, type Delivery } from './deliveries';
import { MalformedEventMessage } from './event-message';
import { groupPartitions, groupPartitionSubject, partitionConsumerName, partitionConsumerPrefix, type EventTopology } from './event-topology';
import { ensureEventStream, firstSequenceAfter, isJetStreamError, CONSUMER_NOT_FOUND } from './jetstream';
import { LeaseLost, PartitionLeases, type Lease } from './partition-leases';
import { sleep } from './sleep';

/** A name for this process among a consumer group's members: host, pid and a random suffix, unique per process. */
export const uniqueMemberName = (): string => `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

export type ConsumerRuntimeOptions = Readonly<{
  nats: NatsConnection;
  pool: Pool;
  topology: EventTopology;
  group: ConsumerGroup;
  /** This instance's name among the group's members; unique per process. */
  member: string;
  leaseTtlMs: number;
  /** DEFAULT_BATCHING unless told otherwise; a partition has up to two batches unacknowledged (one applied, one arriving). */
  batching?: Batching;
  /** How long JetStream waits for an ack before redelivering to the same member. */
  ackWaitMs?: number;
  /** Told what went wrong and what happens next (leases not renewed, a partition retrying, a message dropped): operators' warnings. */
  warn?: (line: string) => void;
}>;

export type PartitionState = Readonly<{ partition: number; status: 'running' | 'blocked' | 'retrying'; lastError?: string }>;

const NANOS_PER_MS = 1_000_000;

/**
 * Runs one consumer group in this process (ARCHITECTURE §5): takes the group's partitions (one
 * per partition and category it reads: groupPartitions) by lease and runs a loop per partition
 * over its durable pull consumer — take what has been delivered, let
 * the group apply it (with its checkpoint, in one transaction), then ack.
 *
 * Whenever a member takes a partition, and after any failure, it recreates the partition's
 * consumer to start right after the group's checkpoint. JetStream's redelivery would bring an
 * unacknowledged batch back only after newer messages went to the next owner — and those would
 * move the checkpoint past the batch. Starting from the checkpoint keeps per-stream order
 * without depending on redelivery timing, and a takeover does not wait for `ackWaitMs`.
 */
export class ConsumerRuntime {
  private readonly leases: PartitionLeases;
  private readonly loops = new Map<number, { stop: AbortController; done: Promise<void> }>();
  private readonly states = new Map<number, PartitionState>();
  private readonly stopping = new AbortController();
  private readonly batching: Batching;
  private readonly warn: (line: string) => void;
  private running?: Promise<void>;

  constructor(private readonly options: ConsumerRuntimeOptions) {
    const { pool, group, member, topology, leaseTtlMs } = options;
    this.leases = new PartitionLeases(pool, group.name, member, groupPartitions(topology, group.categories), leaseTtlMs);
    this.batching = options.batching ?? DEFAULT_BATCHING;
    this.warn = options.warn ?? (() => undefined);
  }

  /** The next batch is delivered while the current one is applied. */
  private get maxAckPending(): number {
    return 2 * this.batching.maxEvents;
  }

  /** The partitions this member runs now, and how each is doing. */
  get partitions(): PartitionState[] {
    return [...this.states.values()].sort((a, b) => a.partition - b.partition);
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    await Promise.all([...this.loops.keys()].map((partition) => this.stopLoop(partition)));
    await this.leases.leave().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const held = new Set(await this.leases.balance());
        for (const partition of this.loops.keys()) if (!held.has(partition)) await this.stopLoop(partition);
        for (const partition of held) if (!this.loops.has(partition)) this.startLoop(partition);
      } catch (error) {
        this.warn(`${this.options.group.name}: cannot renew leases: ${(error as Error).message}`);
      }
      await sleep(this.options.leaseTtlMs / 3, this.stopping.signal);
    }
  }

  private startLoop(partition: number): void {
    const stop = new AbortController();
    const lease: Lease = { group: this.options.group.name, partition, member: this.options.member };
    this.states.set(partition, { partition, status: 'running' });
    const done = this.consume(lease, stop.signal).finally(() => {
      this.loops.delete(partition);
      this.states.delete(partition);
    });
    this.loops.set(partition, { stop, done });
  }

  private async stopLoop(partition: number): Promise<void> {
    const loop = this.loops.get(partition);
    if (!loop) return;
    loop.stop.abort();
    await loop.done;
  }

  private async consume(lease: Lease, stop: AbortSignal): Promise<void> {
    const { group } = this.options;
    let deliveries: Deliveries | undefined;
    // Deliveries of the current consumer so far: each message must be the next one.
    let delivered = 0;
    let failures = 0;
    const restart = async () => {
      await deliveries?.close();
      deliveries = undefined;
    };
    try {
      while (!stop.aborted) {
        try {
          if (!deliveries) {
            if (!(await this.leases.holds(lease.partition))) return;
            deliveries = await Deliveries.start(await this.consumeAfterCheckpoint(lease.partition), this.maxAckPending, stop);
            delivered = 0;
          }
          const received = await deliveries.take(this.batching);
          if (received.length === 0) continue;
          // Delivery sequences only grow, so a batch whose first and last are where they belong has no hole
          // (each message's info is parsed from its reply subject: two per batch, not one per event).
          const [first, last] = [received[0].message.info.deliverySequence, received[received.length - 1].message.info.deliverySequence];
          if (first !== delivered + 1 || last !== delivered + received.length) {
            // A delivery never reached us: applying what came after it would move the checkpoint past it.
            this.warn(`${group.name} partition ${lease.partition}: a delivery went missing; restarting after the checkpoint`);
            await restart();
            continue;
          }
          delivered = last;
          const outcome = await group.handle({ lease, events: this.eventsOf(received) });
          if (outcome === 'applied') {
            // Acknowledging a batch's last delivery acknowledges the batch (AckPolicy.All): one message back, not one per event.
            received[received.length - 1].message.ack();
            failures = 0;
            this.states.set(lease.partition, { partition: lease.partition, status: 'running' });
          } else {
            // Blocked: nothing is acknowledged; the consumer is recreated after the checkpoint when it goes on.
            await restart();
            this.states.set(lease.partition, { partition: lease.partition, status: 'blocked' });
            await sleep(2_000, stop);
          }
        } catch (error) {
          if (error instanceof LeaseLost) {
            this.warn(`${group.name}: ${error.message}`);
            return;
          }
          await restart();
          const delay = Math.min(100 * 2 ** failures++, 30_000);
          const reason = (error as Error).message ?? String(error);
          this.states.set(lease.partition, { partition: lease.partition, status: 'retrying', lastError: reason });
          this.warn(`${group.name} partition ${lease.partition}: ${reason}; retrying in ${delay} ms`);
          await sleep(delay, stop);
        }
      }
    } finally {
      await restart();
    }
  }

  /** A message that is not an event envelope can never be applied: it is terminated, not retried. */
  private eventsOf(deliveries: readonly Delivery[]): RecordedEvent[] {
    const events: RecordedEvent[] = [];
    for (const { message, event } of deliveries) {
      if (!(event instanceof MalformedEventMessage)) {
        events.push(event);
        continue;
      }
      this.warn(`${this.options.group.name}: dropping message ${message.seq} of ${message.subject}: ${event.message}`);
      message.term();
    }
    return events;
  }

  /**
   * Replaces whatever consumers the partition has (earlier owners' included) with this
   * member's durable consumer, starting after the checkpoint; creates the stream if missing.
   */
  private async consumeAfterCheckpoint(partition: number): Promise<Consumer> {
    const { nats, topology, group, member } = this.options;
    const jsm = await nats.jetstreamManager();
    await ensureEventStream(jsm, topology);
    const prefix = partitionConsumerPrefix(topology, group.name, partition);
    for await (const listed of jsm.consumers.list(topology.stream)) {
      // JetStream lists as null a consumer it cannot describe: seen from a server recovering its store, and while members
      // took over the partitions of members killed moments before. The partition goes again (after a backoff), and deletes it then.
      const existing = listed as typeof listed | null;
      if (existing === null) throw new Error(`JetStream listed a consumer of ${topology.stream} it cannot describe (it is recovering its store, or consumers are being replaced)`);
      if (!existing.name.startsWith(prefix)) continue;
      await jsm.consumers.delete(topology.stream, existing.name).catch((error: unknown) => {
        if (!isJetStreamError(error, CONSUMER_NOT_FOUND)) throw error;
      });
    }
    const name = partitionConsumerName(topology, group.name, partition, member);
    const start = await firstSequenceAfter(jsm, topology, await group.checkpoint(partition));
    await jsm.consumers.add(topology.stream, {
      durable_name: name,
      filter_subject: groupPartitionSubject(topology, group.categories, partition),
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start,
      max_ack_pending: this.maxAckPending,
      ack_wait: (this.options.ackWaitMs ?? 30_000) * NANOS_PER_MS,
      // Never give up on a message: one dropped would be skipped by the next checkpoint.
      max_deliver: -1,
    });
    return nats.jetstream().consumers.get(topology.stream, name);
  }
}
