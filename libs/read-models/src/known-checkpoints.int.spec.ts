import type { Lease } from '@tidings/messaging';
import { recordedStreams, useTestDatabase } from '@tidings/testing';
import { KnownCheckpoints } from './known-checkpoints';
import type { Statement } from './transaction';

/** KnownCheckpoints for a group without read model versions (the checkout trigger's kind). */
describe('known checkpoints', () => {
  const { pool } = useTestDatabase();
  const group = 'spec.known';
  const lease: Lease = { group, partition: 0, member: 'a' };
  const stream = recordedStreams()('spec-1');
  const event = () => stream({ type: 'Happened', data: {} });
  const noted = (events: readonly { position: bigint }[]): Statement[] => [{ text: 'INSERT INTO noted SELECT unnest($1::bigint[])', values: [events.map((e) => e.position.toString())] }];
  const notedPositions = async () => (await pool.query<{ position: string }>('SELECT position FROM noted ORDER BY position')).rows.map((row) => BigInt(row.position));
  const checkpoint = async () => BigInt((await pool.query<{ position: string }>('SELECT position FROM checkpoints WHERE consumer_group = $1', [group])).rows[0].position);

  beforeAll(async () => {
    await pool.query('CREATE TABLE noted (position bigint PRIMARY KEY)');
    await pool.query(`INSERT INTO consumer_leases (consumer_group, partition, member, expires_at) VALUES ($1, 0, 'a', now() + interval '10 minutes')`, [group]);
    await pool.query('INSERT INTO checkpoints (consumer_group, partition, position) VALUES ($1, 0, 0)', [group]);
  });

  it('goes at once only from a checkpoint it knows, and forgets one found elsewhere', async () => {
    const known = new KnownCheckpoints(group);
    const [e1, e2, e3] = [event(), event(), event()];
    const write = (fresh: readonly { events: readonly { position: bigint }[] }[]) => noted(fresh.flatMap(({ events }) => events));

    expect(await known.applyAtOnce(pool, [{ lease, events: [e1] }], write)).toBe(false);
    expect(await notedPositions()).toEqual([]);

    known.committed([{ partition: 0, position: 0n }]);
    expect(await known.applyAtOnce(pool, [{ lease, events: [e1, e2] }], write)).toBe(true);
    expect(await notedPositions()).toEqual([e1.position, e2.position]);
    expect(await checkpoint()).toBe(e2.position);

    // Redelivered with a new one: only the new one is written.
    expect(await known.applyAtOnce(pool, [{ lease, events: [e2, e3, e2] }], write)).toBe(true);
    expect(await notedPositions()).toEqual([e1.position, e2.position, e3.position]);

    // Moved by someone else: refused without a write, then not known any more.
    await pool.query('UPDATE checkpoints SET position = position + 100 WHERE consumer_group = $1', [group]);
    const e4 = event();
    expect(await known.applyAtOnce(pool, [{ lease, events: [e4] }], write)).toBe(false);
    expect(await known.applyAtOnce(pool, [{ lease, events: [e4] }], write)).toBe(false);
    expect(await notedPositions()).toEqual([e1.position, e2.position, e3.position]);
  });
});
