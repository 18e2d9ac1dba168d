import type { PoolClient } from 'pg';
import { LeaseLost, type Lease } from '@tidings/messaging';
import type { Statement } from './transaction';

export type Checkpoint = Readonly<{
  position: bigint;
  blocked: boolean;
  /** The projection's table version this checkpoint was last written against; a rebuild's switch moves it. */
  readModelVersion?: number;
  /** Streams of the batch with a dead letter in the group: their later events wait behind it. */
  waiting: ReadonlySet<string>;
}>;

/**
 * Opens a batch in one round trip: proves the lease is still the member's and holds it until
 * commit (so a member paused past its lease cannot write over the next owner: a takeover locks
 * the lease FOR UPDATE and waits), reads and locks the partition's checkpoint (creating it at 0),
 * and finds the batch's streams that have dead letters. Throws LeaseLost when the partition
 * belongs to another member now.
 */
export async function openBatch(db: PoolClient, lease: Lease, streamIds: readonly string[]): Promise<Checkpoint> {
  const [checkpoint] = await openBatches(db, [{ lease, streamIds }]);
  return checkpoint;
}

/**
 * openBatch for batches of one group's partitions applied in one transaction (JointBatches),
 * still in one round trip; checkpoints are locked in partition order. A checkpoint per batch,
 * in the order given.
 */
export async function openBatches(db: PoolClient, batches: readonly Readonly<{ lease: Lease; streamIds: readonly string[] }>[]): Promise<Checkpoint[]> {
  const { group } = batches[0].lease;
  const { rows } = await db.query<{ partition: number; position: string | null; blocked_position: string | null; read_model_version: number | null; waiting: string[] }>({
    // Named: prepared once per connection, planned once — every batch of every partition runs it.
    name: 'tidings_open_batches',
    text: `WITH wanted AS (
       SELECT * FROM unnest($2::int[], $3::text[]) AS wanted(partition, member)
     ), lease AS (
       -- KEY SHARE: the member's renewals (they set expires_at only) neither wait for the batch nor hold it up.
       SELECT consumer_leases.partition FROM consumer_leases JOIN wanted USING (partition, member)
        WHERE consumer_group = $1 FOR KEY SHARE OF consumer_leases
     ), checkpoint AS (
       INSERT INTO checkpoints (consumer_group, partition, position) SELECT $1, partition, 0 FROM lease ORDER BY partition
       ON CONFLICT (consumer_group, partition) DO UPDATE SET position = checkpoints.position
       RETURNING partition, position, blocked_position, read_model_version
     )
     SELECT wanted.partition, checkpoint.position, checkpoint.blocked_position, checkpoint.read_model_version,
       ARRAY(SELECT DISTINCT stream_id FROM dead_letters WHERE consumer_group = $1 AND stream_id = ANY($4)) AS waiting
     FROM wanted LEFT JOIN checkpoint USING (partition)`,
    values: [group, batches.map(({ lease }) => lease.partition), batches.map(({ lease }) => lease.member), batches.flatMap(({ streamIds }) => streamIds)],
  });
  const byPartition = new Map(rows.map((row) => [row.partition, row]));
  return batches.map(({ lease, streamIds }) => {
    const row = byPartition.get(lease.partition);
    if (!row || row.position === null) throw new LeaseLost(lease);
    // A stream belongs to one partition: the group's dead-lettered streams among all the batches' are this batch's among its own.
    const waiting = new Set(row.waiting.length ? row.waiting.filter(Set.prototype.has, new Set(streamIds)) : []);
    return {
      position: BigInt(row.position),
      blocked: row.blocked_position !== null,
      ...(row.read_model_version !== null ? { readModelVersion: row.read_model_version } : {}),
      waiting,
    };
  });
}

/** Moves the checkpoint; `readModelVersion` records which tables the batch wrote (kept when not given). */
export async function saveCheckpoint(db: PoolClient, group: string, partition: number, position: bigint, readModelVersion?: number): Promise<void> {
  await saveCheckpoints(db, group, [{ partition, position, ...(readModelVersion !== undefined ? { readModelVersion } : {}) }]);
}

/** A checkpoint a batch moves: to `position`, written against the tables of `readModelVersion` (kept when not given). */
export type SavedCheckpoint = Readonly<{ partition: number; position: bigint; readModelVersion?: number }>;

/** saveCheckpoint for several partitions of a group, in one round trip. */
export async function saveCheckpoints(db: PoolClient, group: string, checkpoints: readonly SavedCheckpoint[]): Promise<void> {
  await db.query(checkpointsSaved(group, checkpoints));
}

/** The statement of saveCheckpoints. */
export const checkpointsSaved = (group: string, checkpoints: readonly SavedCheckpoint[]): Statement => ({
  name: 'tidings_save_checkpoints',
  text: `UPDATE checkpoints SET position = saved.position, read_model_version = coalesce(saved.read_model_version, checkpoints.read_model_version), updated_at = now()
         FROM unnest($2::int[], $3::bigint[], $4::int[]) AS saved(partition, position, read_model_version)
         WHERE consumer_group = $1 AND checkpoints.partition = saved.partition`,
  values: [
    group,
    checkpoints.map(({ partition }) => partition),
    checkpoints.map(({ position }) => position.toString()),
    checkpoints.map(({ readModelVersion }) => readModelVersion ?? null),
  ],
});

/** A batch whose checkpoint its member knows, having committed it: where it stands and against which tables. */
export type ExpectedBatch = Readonly<{ lease: Lease; position: bigint; readModelVersion: number | null; streamIds: readonly string[] }>;

/**
 * openBatches for batches whose checkpoints are known, as a statement to send ahead of the
 * batches' writes without waiting for its answer: it locks as openBatches does, and fails
 * (SQLSTATE TDX01: isUnexpectedBatch) — and with it every statement after it in the transaction —
 * unless every lease is still the member's and every checkpoint is as expected, not blocked,
 * with no dead letter among the batches' streams (migrations/1765000000000-expected-batches.ts).
 */
export const batchesExpected = (batches: readonly ExpectedBatch[]): Statement => ({
  name: 'tidings_expect_batches',
  text: 'SELECT tidings_expect_batches($1, $2::int[], $3::text[], $4::bigint[], $5::int[], $6::text[])',
  values: [
    batches[0].lease.group,
    batches.map(({ lease }) => lease.partition),
    batches.map(({ lease }) => lease.member),
    batches.map(({ position }) => position.toString()),
    batches.map(({ readModelVersion }) => readModelVersion),
    batches.flatMap(({ streamIds }) => streamIds),
  ],
});

/** The batches were not as their member expected (batchesExpected): they must be opened and read again. */
export const isUnexpectedBatch = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === 'TDX01';

/** The position a group's partition has applied up to (0 before its first batch). */
export async function readCheckpoint(db: Pick<PoolClient, 'query'>, group: string, partition: number): Promise<bigint> {
  const { rows } = await db.query<{ position: string }>('SELECT position FROM checkpoints WHERE consumer_group = $1 AND partition = $2', [group, partition]);
  return BigInt(rows[0]?.position ?? 0);
}
