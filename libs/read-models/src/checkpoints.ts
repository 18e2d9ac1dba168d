import type { PoolClient } from 'pg';
import { LeaseLost, type Lease } from '@tidings/messaging';

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
 * the lease FOR UPDATE and waits), reads and locks
 * the partition's checkpoint (creating it at 0), and finds the batch's streams that have dead
 * letters. Throws LeaseLost when the partition belongs to another member now.
 */
export async function openBatch(db: PoolClient, lease: Lease, streamIds: readonly string[]): Promise<Checkpoint> {
  const { rows } = await db.query<{ position: string | null; blocked_position: string | null; read_model_version: number | null; waiting: string[] }>({
    // Named: prepared once per connection, planned once — every batch of every partition runs it.
    name: 'tidings_open_batch',
    text: `WITH lease AS (
       -- KEY SHARE: the member's renewals (they set expires_at only) neither wait for the batch nor hold it up.
       SELECT 1 FROM consumer_leases WHERE consumer_group = $1 AND partition = $2 AND member = $3 FOR KEY SHARE
     ), checkpoint AS (
       INSERT INTO checkpoints (consumer_group, partition, position) SELECT $1, $2, 0 WHERE EXISTS (SELECT 1 FROM lease)
       ON CONFLICT (consumer_group, partition) DO UPDATE SET position = checkpoints.position
       RETURNING position, blocked_position, read_model_version
     )
     SELECT checkpoint.position, checkpoint.blocked_position, checkpoint.read_model_version,
       ARRAY(SELECT DISTINCT stream_id FROM dead_letters WHERE consumer_group = $1 AND stream_id = ANY($4)) AS waiting
     FROM (SELECT 1) AS one LEFT JOIN checkpoint ON true`,
    values: [lease.group, lease.partition, lease.member, streamIds],
  });
  if (rows[0].position === null) throw new LeaseLost(lease);
  const { position, blocked_position, read_model_version, waiting } = rows[0];
  return {
    position: BigInt(position),
    blocked: blocked_position !== null,
    ...(read_model_version !== null ? { readModelVersion: read_model_version } : {}),
    waiting: new Set(waiting),
  };
}

/** Moves the checkpoint; `readModelVersion` records which tables the batch wrote (kept when not given). */
export async function saveCheckpoint(db: PoolClient, group: string, partition: number, position: bigint, readModelVersion?: number): Promise<void> {
  await db.query({
    name: 'tidings_save_checkpoint',
    text: `UPDATE checkpoints SET position = $3, read_model_version = coalesce($4, read_model_version), updated_at = now()
           WHERE consumer_group = $1 AND partition = $2`,
    values: [group, partition, position.toString(), readModelVersion ?? null],
  });
}

/** The position a group's partition has applied up to (0 before its first batch). */
export async function readCheckpoint(db: Pick<PoolClient, 'query'>, group: string, partition: number): Promise<bigint> {
  const { rows } = await db.query<{ position: string }>('SELECT position FROM checkpoints WHERE consumer_group = $1 AND partition = $2', [group, partition]);
  return BigInt(rows[0]?.position ?? 0);
}
