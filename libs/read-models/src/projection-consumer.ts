import type { Pool, PoolClient } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { DEFAULT_BATCHING, LeaseLost, type Batch, type ConsumerGroup, type Lease } from '@tidings/messaging';
import { openBatch, openBatches, readCheckpoint, saveCheckpoint, saveCheckpoints, type Checkpoint, type SavedCheckpoint } from './checkpoints';
import { byPosition, freshEvents, KnownCheckpoints, type FreshBatch } from './known-checkpoints';
import { JointBatches, type BatchOutcome } from './joint-batches';
import { parkEvent } from './dead-letters';
import { consumerGroupOf, tablesOf, type AfterCommit, type Projection } from './projection';
import { currentVersion } from './projection-registry';
import { inTransaction, isTransient, pipelined, type Statement } from './transaction';

export type ProjectionConsumerOptions = Readonly<{
  /** Failures of one event, each after a backoff, before the group's policy takes it. */
  maxAttempts?: number;
  log?: (line: string) => void;
  /** What an operator must act on: an event that blocked its partition or went to the dead letters (default: `log`). */
  alert?: (line: string) => void;
}>;

/**
 * A projection as a consumer group: each batch is applied in one transaction with the
 * partition's checkpoint, and events at or below the checkpoint are skipped, so redelivery
 * never applies an event twice. When a batch fails for a reason that is not transient, its
 * events are applied one per transaction to find the one that fails; after `maxAttempts` that
 * event is parked (dead letter, its stream's later events parked behind it) or blocks its
 * partition, as the projection's policy says.
 */
export class ProjectionConsumer implements ConsumerGroup {
  readonly name: string;
  readonly categories: readonly string[];
  private readonly attempts = new Map<string, number>();
  private readonly maxAttempts: number;
  private readonly log: (line: string) => void;
  private readonly alert: (line: string) => void;
  private readonly joint: JointBatches;
  /** Where this member's commits left its partitions (projections that `write`). */
  private readonly known: KnownCheckpoints;

  constructor(
    private readonly pool: Pool,
    private readonly projection: Projection,
    options: ProjectionConsumerOptions = {},
  ) {
    this.name = consumerGroupOf(projection);
    this.categories = projection.categories;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.log = options.log ?? (() => undefined);
    this.alert = options.alert ?? this.log;
    this.known = new KnownCheckpoints(this.name);
    this.joint = new JointBatches((batches) => this.applyTogether(batches), (projection.batching ?? DEFAULT_BATCHING).maxEvents);
  }

  async handle({ lease, events }: Batch): Promise<BatchOutcome> {
    try {
      return await this.joint.apply({ lease, events });
    } catch (error) {
      if (mustRetry(error) || events.length === 1) return this.failed(lease, events[0], error);
    }
    for (const event of events) {
      try {
        const [outcome] = await this.applyTogether([{ lease, events: [event] }]);
        if (outcome === 'blocked') return 'blocked';
      } catch (error) {
        if ((await this.failed(lease, event, error)) === 'blocked') return 'blocked';
      }
    }
    return 'applied';
  }

  checkpoint(partition: number): Promise<bigint> {
    return readCheckpoint(this.pool, this.name, partition);
  }

  /**
   * One transaction for batches of different partitions (see JointBatches): each batch is
   * opened under its lease, and its events after its checkpoint are applied — all batches'
   * events in position order, as one partition's would be — and its checkpoint moved. A
   * projection that `write`s, whose checkpoints are where this member's last commits left
   * them, sends that transaction in one round trip (KnownCheckpoints).
   */
  private async applyTogether(batches: readonly Batch[]): Promise<BatchOutcome[]> {
    const { write } = this.projection;
    if (write && (await this.known.applyAtOnce(this.pool, batches, (fresh) => this.written(write, fresh)))) return batches.map(() => 'applied');
    const afterCommits: (() => void)[] = [];
    const committed: SavedCheckpoint[] = [];
    const outcomes = await inTransaction(this.pool, async (db) => {
      const checkpoints = await openBatches(db, batches.map(({ lease, events }) => ({ lease, streamIds: [...new Set(events.map((event) => event.streamId))] })));
      const opened = batches.map(({ lease, events }, i): Opened => ({ lease, checkpoint: checkpoints[i], fresh: checkpoints[i].blocked ? [] : freshEvents(events, checkpoints[i].position) }));
      const toApply = opened.filter(({ fresh }) => fresh.length > 0);
      if (toApply.length > 0) committed.push(...(await this.applyOpened(db, toApply, (work) => afterCommits.push(work))));
      for (const { lease, checkpoint, fresh } of opened) {
        if (fresh.length === 0 && !checkpoint.blocked) committed.push({ partition: lease.partition, position: checkpoint.position, readModelVersion: checkpoint.readModelVersion });
      }
      return opened.map(({ checkpoint }): BatchOutcome => (checkpoint.blocked ? 'blocked' : 'applied'));
    });
    // A checkpoint not yet written against tables is not known: its batch looks up the current version.
    if (write) this.known.committed(committed.filter(({ readModelVersion }) => readModelVersion !== undefined));
    for (const work of afterCommits) {
      try {
        work();
      } catch (error) {
        // The batch is applied: what it left for after the commit cannot undo that, nor be retried.
        this.log(`${this.name}: after-commit work failed: ${(error as Error).message}`);
      }
    }
    return outcomes;
  }

  /** What a projection that writes blind writes of fresh batches, each against the tables of its checkpoint. */
  private written(write: NonNullable<Projection['write']>, fresh: readonly FreshBatch[]): Statement[] {
    return byTableVersion(fresh.map(({ readModelVersion, events }) => ({ version: readModelVersion as number, events }))).flatMap(([version, events]) =>
      write(events, tablesOf(this.projection, version)),
    );
  }

  /** Applies the opened batches' fresh events and moves their checkpoints, which it returns. */
  private async applyOpened(db: PoolClient, opened: readonly Opened[], afterCommit: AfterCommit): Promise<SavedCheckpoint[]> {
    // Known from the locked checkpoint once a batch has been written (a rebuild's switch moves it); looked up otherwise.
    let current: number | undefined;
    const versions: number[] = [];
    for (const { checkpoint } of opened) {
      const version = checkpoint.readModelVersion ?? (current ??= await currentVersion(db, this.projection.name));
      if (version === undefined) throw new Error(`projection ${this.projection.name} has no tables; start the projector to create them`);
      versions.push(version);
    }
    const saved = opened.map(({ lease, fresh }, i) => ({ partition: lease.partition, position: fresh[fresh.length - 1].position, readModelVersion: versions[i] }));
    // Sent ahead of the projection's statements, in the same round trip as its first: the transaction makes them one.
    await pipelined(saveCheckpoints(db, this.name, saved), this.applyFresh(db, opened, versions, afterCommit));
    return saved;
  }

  /** The batches' events after their checkpoints: applied to the tables of their version, or parked behind their stream's dead letter. */
  private async applyFresh(db: PoolClient, opened: readonly Opened[], versions: readonly number[], afterCommit: AfterCommit): Promise<void> {
    const live = opened.map(({ checkpoint, fresh }, i) => ({ version: versions[i], events: fresh.filter((event) => !checkpoint.waiting.has(event.streamId)) }));
    for (const [version, events] of byTableVersion(live)) {
      if (events.length) await this.projection.apply(db, events, tablesOf(this.projection, version), afterCommit);
    }
    for (const { lease, checkpoint, fresh } of opened) {
      for (const event of fresh.filter((candidate) => checkpoint.waiting.has(candidate.streamId))) {
        await parkEvent(db, this.name, lease.partition, event, `waits behind an earlier dead letter of ${event.streamId}`, 0);
      }
    }
  }

  /** Throws to have the runtime back off and redeliver, until the event has failed `maxAttempts` times. */
  private async failed(lease: Lease, event: RecordedEvent, error: unknown): Promise<BatchOutcome> {
    if (mustRetry(error)) throw error;
    const attempts = (this.attempts.get(event.eventId) ?? 0) + 1;
    if (attempts < this.maxAttempts) {
      this.attempts.set(event.eventId, attempts);
      throw error;
    }
    this.attempts.delete(event.eventId);
    const reason = (error as Error).message ?? String(error);
    const policy = this.projection.policy ?? 'block';
    this.alert(
      `${this.name}: ${event.type} at position ${event.position} failed ${attempts} times (${reason}); ` +
        (policy === 'block' ? `partition ${lease.partition} is blocked until the fix is deployed and it is resumed (tidings projections resume ${this.projection.name})` : 'parked as a dead letter (tidings dlq list)'),
    );
    return inTransaction(this.pool, async (db) => {
      const checkpoint = await openBatch(db, lease, []);
      if (checkpoint.position >= event.position) return 'applied';
      if (policy === 'block') {
        await db.query(
          `UPDATE checkpoints SET blocked_position = $3, blocked_error = $4, blocked_at = now()
           WHERE consumer_group = $1 AND partition = $2`,
          [this.name, lease.partition, event.position.toString(), `${event.type} ${event.eventId}: ${reason}`],
        );
        return 'blocked';
      }
      await parkEvent(db, this.name, lease.partition, event, reason, attempts);
      await saveCheckpoint(db, this.name, lease.partition, event.position);
      return 'applied';
    });
  }
}

/**
 * Batches' events by the version of the tables each batch is applied against (a rebuild's switch
 * can leave partitions on two), each version's in position order, as one partition's would be.
 */
function byTableVersion(batches: readonly Readonly<{ version: number; events: readonly RecordedEvent[] }>[]): [number, RecordedEvent[]][] {
  const byVersion = new Map<number, RecordedEvent[]>();
  for (const { version, events } of batches) {
    const group = byVersion.get(version) ?? [];
    group.push(...events);
    byVersion.set(version, group);
  }
  return [...byVersion].map(([version, events]) => [version, events.sort(byPosition)]);
}

/** A batch opened in the joint transaction: its checkpoint, and its events after it. */
type Opened = Readonly<{ lease: Lease; checkpoint: Checkpoint; fresh: RecordedEvent[] }>;

const mustRetry = (error: unknown): boolean => isTransient(error) || error instanceof LeaseLost;
