import type { Pool } from 'pg';

export type Lease = Readonly<{ group: string; partition: number; member: string }>;

export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
  constructor(lease: Lease) {
    super(`partition ${lease.partition} of ${lease.group} now belongs to another member`);
  }
}

/** PostgreSQL's lock_not_available: a NOWAIT lock found the row locked. */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Shares a group's partitions among the members alive (ARCHITECTURE §5): each member renews
 * its leases, takes free or expired ones up to its fair share, and gives back what is above it
 * when members join. A killed member's partitions are free once its leases expire.
 *
 * An expired lease whose owner is still inside a batch (it holds the lease until it commits:
 * openBatches) is not taken until that batch ends: the member tries again at its next round
 * rather than wait, so an owner frozen mid-batch never holds up the renewal of the member's
 * own leases. A frozen owner's batch ends when PostgreSQL ends its idle transaction
 * (idle_in_transaction_session_timeout on the application's pools).
 */
export class PartitionLeases {
  constructor(
    private readonly pool: Pool,
    private readonly group: string,
    private readonly member: string,
    private readonly partitions: number,
    private readonly ttlMs: number,
  ) {}

  /** One round: heartbeat, renew, rebalance. Returns the partitions this member holds now. */
  async balance(): Promise<number[]> {
    const { group, member, ttlMs } = this;
    await this.pool.query(
      `INSERT INTO consumer_members (consumer_group, member, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (consumer_group, member) DO UPDATE SET expires_at = excluded.expires_at`,
      [group, member, ttlMs],
    );
    const { rows: alive } = await this.pool.query<{ members: string }>(
      'SELECT count(*) AS members FROM consumer_members WHERE consumer_group = $1 AND expires_at > now()',
      [group],
    );
    const share = Math.ceil(this.partitions / Math.max(1, Number(alive[0].members)));
    const { rows: renewed } = await this.pool.query<{ partition: number }>(
      `UPDATE consumer_leases SET expires_at = now() + $3 * interval '1 millisecond'
       WHERE consumer_group = $1 AND member = $2 RETURNING partition`,
      [group, member, ttlMs],
    );
    const held = renewed.map((row) => row.partition).filter((partition) => partition < this.partitions).sort((a, b) => a - b);
    if (held.length > share) {
      await this.release(held.splice(share));
      return held;
    }
    const { rows: free } = await this.pool.query<{ partition: number }>(
      `SELECT candidate.partition FROM generate_series(0, $2 - 1) AS candidate(partition)
       WHERE NOT EXISTS (
         SELECT 1 FROM consumer_leases l
         WHERE l.consumer_group = $1 AND l.partition = candidate.partition AND l.expires_at > now()
       )
       ORDER BY random()`,
      [group, this.partitions],
    );
    for (const { partition } of free) {
      if (held.length >= share) break;
      if (await this.take(partition)) held.push(partition);
    }
    return held.sort((a, b) => a - b);
  }

  /** Takes a free or expired lease, unless its previous owner is inside a batch now (it holds the lease FOR KEY SHARE). */
  private async take(partition: number): Promise<boolean> {
    try {
      const { rowCount } = await this.pool.query(
        `WITH previous_owner AS (SELECT 1 FROM consumer_leases WHERE consumer_group = $1 AND partition = $2 FOR UPDATE NOWAIT)
         INSERT INTO consumer_leases (consumer_group, partition, member, expires_at)
         SELECT $1, $2, $3, now() + $4 * interval '1 millisecond' FROM (SELECT count(*) FROM previous_owner) AS locked
         ON CONFLICT (consumer_group, partition) DO UPDATE SET member = excluded.member, expires_at = excluded.expires_at
         WHERE consumer_leases.expires_at <= now() OR consumer_leases.member = excluded.member`,
        [this.group, partition, this.member, this.ttlMs],
      );
      return Boolean(rowCount);
    } catch (error) {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return false;
      throw error;
    }
  }

  async holds(partition: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM consumer_leases WHERE consumer_group = $1 AND partition = $2 AND member = $3',
      [this.group, partition, this.member],
    );
    return Boolean(rowCount);
  }

  /** Gives partitions back, e.g. after their loops stopped on shutdown. */
  async release(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.pool.query('DELETE FROM consumer_leases WHERE consumer_group = $1 AND member = $2 AND partition = ANY($3)', [
      this.group,
      this.member,
      partitions,
    ]);
  }

  async leave(): Promise<void> {
    await this.pool.query('DELETE FROM consumer_leases WHERE consumer_group = $1 AND member = $2', [this.group, this.member]);
    await this.pool.query('DELETE FROM consumer_members WHERE consumer_group = $1 AND member = $2', [this.group, this.member]);
  }
}
