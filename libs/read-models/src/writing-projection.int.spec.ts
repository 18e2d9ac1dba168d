import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { LeaseLost, type Lease } from '@tidings/messaging';
import { recordedStreams, useTestDatabase } from '@tidings/testing';
import { quoteIdentifier } from './database';
import { consumerGroupOf, tablesOf, writingProjection } from './projection';
import { ProjectionConsumer } from './projection-consumer';
import { ensureProjection } from './projection-registry';

/** Adds up the events of each stream: a batch applied twice counts twice. */
const counting = writingProjection({
  name: 'counted',
  categories: ['counted'],
  tables: { counted: (table) => `CREATE TABLE ${table} (stream_id text PRIMARY KEY, events int NOT NULL)` },
  write: (events, tables) => [
    {
      text: `INSERT INTO ${quoteIdentifier(tables.counted)} AS c SELECT stream_id, count(*) FROM unnest($1::text[]) AS e (stream_id) GROUP BY stream_id
             ON CONFLICT (stream_id) DO UPDATE SET events = c.events + excluded.events`,
      values: [events.map((event) => event.streamId)],
    },
  ],
});
const group = consumerGroupOf(counting);

/**
 * A projection that writes blind has its batches sent in one round trip, expecting the
 * checkpoint where this member's last commit left it. These are the cases where it is not there.
 */
describe('a projection that writes blind', () => {
  const { pool } = useTestDatabase();
  const stream = recordedStreams()('counted-1');
  const event = () => stream({ type: 'Counted', data: {} });

  beforeAll(async () => {
    await ensureProjection(pool, counting);
  });
  beforeEach(async () => {
    await pool.query(`TRUNCATE counted_v1, checkpoints, consumer_leases`);
  });

  const counted = async (table = 'counted_v1') => (await pool.query<{ events: number }>(`SELECT events FROM ${table} WHERE stream_id = 'counted-1'`)).rows[0]?.events ?? 0;
  const checkpoint = async () => BigInt((await pool.query<{ position: string }>('SELECT position FROM checkpoints WHERE consumer_group = $1', [group])).rows[0].position);
  /** A member of the group holding partition 0 (when its lease says so), as the runtime hands it batches. */
  const member = (name: string) => {
    const lease: Lease = { group, partition: 0, member: name };
    const consumer = new ProjectionConsumer(pool, counting);
    return { handle: (...events: RecordedEvent[]) => consumer.handle({ lease, events }) };
  };
  const leaseTo = (pool: Pool, name: string) => pool.query('INSERT INTO consumer_leases (consumer_group, partition, member, expires_at) VALUES ($1, 0, $2, now() + interval \'10 minutes\') ON CONFLICT (consumer_group, partition) DO UPDATE SET member = excluded.member', [group, name]);

  it('applies each event once in batch after batch, and after another member applied some meanwhile', async () => {
    const [e1, e2, e3, e4] = [event(), event(), event(), event()];
    const a = member('a');
    const b = member('b');
    await leaseTo(pool, 'a');
    await a.handle(e1);
    await a.handle(e1, e2);
    expect(await counted()).toBe(2);
    // b took the partition and applied e3; a, its lease back, is delivered e3 again with e4.
    await leaseTo(pool, 'b');
    await b.handle(e3);
    await leaseTo(pool, 'a');
    await a.handle(e3, e4);
    expect(await counted()).toBe(4);
    expect(await checkpoint()).toBe(e4.position);
  });

  it('refuses a batch whose lease has moved, writing nothing', async () => {
    const a = member('a');
    await leaseTo(pool, 'a');
    await a.handle(event());
    await leaseTo(pool, 'b');
    await expect(a.handle(event())).rejects.toBeInstanceOf(LeaseLost);
    expect(await counted()).toBe(1);
  });

  it('writes to the tables a rebuild has switched the checkpoint to since', async () => {
    const a = member('a');
    await leaseTo(pool, 'a');
    await a.handle(event());
    await pool.query(counting.tables.counted(tablesOf(counting, 2).counted));
    await pool.query('UPDATE checkpoints SET read_model_version = 2 WHERE consumer_group = $1', [group]);
    await a.handle(event());
    expect(await counted('counted_v1')).toBe(1);
    expect(await counted('counted_v2')).toBe(1);
    await pool.query('DROP TABLE counted_v2');
  });

  it('stops at a partition blocked since', async () => {
    const a = member('a');
    await leaseTo(pool, 'a');
    const first = event();
    await a.handle(first);
    await pool.query(`UPDATE checkpoints SET blocked_position = position + 1, blocked_error = 'spec' WHERE consumer_group = $1`, [group]);
    expect(await a.handle(event())).toBe('blocked');
    expect(await counted()).toBe(1);
    expect(await checkpoint()).toBe(first.position);
  });
});
