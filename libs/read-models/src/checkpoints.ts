import type { PoolClient } from 'pg';

export type Checkpoint = Readonly<{ position: bigint; blocked: boolean }>;

/** Reads a partition's checkpoint (creating it at 0) and locks it until the transaction ends. */
export async function lockCheckpoint(db: PoolClient, group: string, partition: number): Promise<Checkpoint> {
  const { rows } = await db.query<{ position: string; blocked_position: string | null }>(
    `INSERT INTO checkpoints (consumer_group, partition, position) VALUES ($1, $2, 0)
     ON CONFLICT (consumer_group, partition) DO UPDATE SET position = checkpoints.position
     RETURNING position, blocked_position`,
    [group, partition],
  );
  return { position: BigInt(rows[0].position), blocked: rows[0].blocked_position !== null };
}

export async function saveCheckpoint(db: PoolClient, group: string, partition: number, position: bigint): Promise<void> {
  await db.query('UPDATE checkpoints SET position = $3, updated_at = now() WHERE consumer_group = $1 AND partition = $2', [
    group,
    partition,
    position.toString(),
  ]);
}
