import { Pool } from 'pg';
import { LeaseLost, PartitionLeases } from '@tidings/messaging';
import { eventually, useTestDatabase } from '@tidings/testing';
import { openBatch, openBatches, readCheckpoint, saveCheckpoints } from './checkpoints';
import { inTransaction } from './transaction';

const GROUP = 'spec.fence';
const TTL_MS = 60_000;

/**
 * A batch of the owner's on partition 0, open (its lease held) once this resolves, that saves
 * the checkpoint at `position` and commits when `finish` is called; `committed` settles then.
 */
async function openedBatch(pool: Pool, group: string, position: bigint): Promise<{ finish: () => void; committed: Promise<void> }> {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const committed = inTransaction(pool, async (db) => {
    await openBatch(db, { group, partition: 0, member: 'owner' }, []);
    open();
    await finished;
    await saveCheckpoints(db, group, [{ partition: 0, position }]);
  });
  await Promise.race([opened, committed]);
  return { finish, committed };
}

describe('a batch holds its partition lease until it commits', () => {
  const { database, pool } = useTestDatabase();

  it('lets the owner renew meanwhile, and leaves the expired lease to the owner until its batch commits: a member taking over tries again at its next round', async () => {
    const owner = new PartitionLeases(pool, GROUP, 'owner', 1, TTL_MS);
    const successor = new PartitionLeases(pool, GROUP, 'successor', 1, TTL_MS);
    expect(await owner.balance()).toEqual([0]);

    const batch = await openedBatch(pool, GROUP, 9n);

    // A renewal sets expires_at only: it does not wait for the batch.
    expect(await owner.balance()).toEqual([0]);
    // The owner stalls past its lease; a new member comes for the partition, and does not wait for the batch.
    await pool.query("UPDATE consumer_leases SET expires_at = now() - interval '1 second' WHERE consumer_group = $1", [GROUP]);
    expect(await successor.balance()).toEqual([]);

    batch.finish();
    await batch.committed;
    expect(await successor.balance()).toEqual([0]);
    const { rows } = await pool.query('SELECT member FROM consumer_leases WHERE consumer_group = $1', [GROUP]);
    expect(rows).toEqual([{ member: 'successor' }]);
    await expect(inTransaction(pool, (db) => openBatch(db, { group: GROUP, partition: 0, member: 'owner' }, []))).rejects.toThrow(LeaseLost);
    expect(await readCheckpoint(pool, GROUP, 0)).toBe(9n);
  });

  it('moves the partition of an owner frozen mid-batch once PostgreSQL ends its idle transaction, and the frozen batch never commits', async () => {
    const group = 'spec.frozen';
    // The owner's connections end a transaction idle for 3 s, as the application's pools do after twice the lease TTL.
    const frozenPool = new Pool({ connectionString: database.url, idle_in_transaction_session_timeout: 3_000 });
    frozenPool.on('error', () => undefined);
    try {
      const owner = new PartitionLeases(frozenPool, group, 'owner', 1, TTL_MS);
      const successor = new PartitionLeases(pool, group, 'successor', 1, TTL_MS);
      expect(await owner.balance()).toEqual([0]);
      const frozenBatch = await openedBatch(frozenPool, group, 7n);
      try {
        await pool.query("UPDATE consumer_leases SET expires_at = now() - interval '1 second' WHERE consumer_group = $1", [group]);
        expect(await successor.balance()).toEqual([]);
        await eventually(async () => expect(await successor.balance()).toEqual([0]), { timeoutMs: 15_000, intervalMs: 200 });
      } finally {
        frozenBatch.finish();
      }
      await expect(frozenBatch.committed).rejects.toThrow();
      expect(await readCheckpoint(pool, group, 0)).toBe(0n);
    } finally {
      await frozenPool.end();
    }
  });

  it('opens the batches of several partitions in one go, each at its own checkpoint, and refuses them all when one lease is another member\'s', async () => {
    const group = 'spec.joint';
    const member = new PartitionLeases(pool, group, 'member', 3, TTL_MS);
    expect(await member.balance()).toEqual([0, 1, 2]);
    const lease = (partition: number, of = 'member') => ({ group, partition, member: of });

    await inTransaction(pool, async (db) => {
      const opened = await openBatches(db, [2, 0].map((partition) => ({ lease: lease(partition), streamIds: [] })));
      expect(opened.map((checkpoint) => checkpoint.position)).toEqual([0n, 0n]);
      await saveCheckpoints(db, group, [
        { partition: 2, position: 7n },
        { partition: 0, position: 5n, readModelVersion: 3 },
      ]);
    });
    await inTransaction(pool, async (db) => {
      const opened = await openBatches(db, [0, 1, 2].map((partition) => ({ lease: lease(partition), streamIds: [] })));
      expect(opened.map(({ position, readModelVersion }) => ({ position, readModelVersion }))).toEqual([
        { position: 5n, readModelVersion: 3 },
        { position: 0n, readModelVersion: undefined },
        { position: 7n, readModelVersion: undefined },
      ]);
    });

    const refused = inTransaction(pool, (db) => openBatches(db, [lease(0), lease(1, 'someone else')].map((given) => ({ lease: given, streamIds: [] }))));
    await expect(refused).rejects.toThrow(LeaseLost);
    await expect(refused).rejects.toThrow(/partition 1/);
  });
});
