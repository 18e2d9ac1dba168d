import { setTimeout as delay } from 'node:timers/promises';
import { LeaseLost, PartitionLeases } from '@tidings/messaging';
import { useTestDatabase } from '@tidings/testing';
import { openBatch, openBatches, saveCheckpoints } from './checkpoints';
import { inTransaction } from './transaction';

const GROUP = 'spec.fence';
const TTL_MS = 60_000;

describe('a batch holds its partition lease until it commits', () => {
  const { pool } = useTestDatabase();

  it('lets the owner renew meanwhile, and makes a member taking over the expired lease wait for the commit', async () => {
    const owner = new PartitionLeases(pool, GROUP, 'owner', 1, TTL_MS);
    const successor = new PartitionLeases(pool, GROUP, 'successor', 1, TTL_MS);
    expect(await owner.balance()).toEqual([0]);

    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let batchOpen!: () => void;
    const opened = new Promise<void>((resolve) => (batchOpen = resolve));
    const batch = inTransaction(pool, async (db) => {
      await openBatch(db, { group: GROUP, partition: 0, member: 'owner' }, []);
      batchOpen();
      await committed;
    });
    await opened;

    // A renewal sets expires_at only: it does not wait for the batch.
    expect(await owner.balance()).toEqual([0]);
    // The owner stalls past its lease; a new member comes for the partition.
    await pool.query("UPDATE consumer_leases SET expires_at = now() - interval '1 second' WHERE consumer_group = $1", [GROUP]);
    const takeover = successor.balance();
    const first = await Promise.race([takeover.then(() => 'taken over'), delay(300).then(() => 'waiting')]);
    expect(first).toBe('waiting');

    commit();
    await batch;
    expect(await takeover).toEqual([0]);
    const { rows } = await pool.query('SELECT member FROM consumer_leases WHERE consumer_group = $1', [GROUP]);
    expect(rows).toEqual([{ member: 'successor' }]);
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
