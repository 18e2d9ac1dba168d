import type { QueryRunner } from 'typeorm';
import { uuidV7Ids, type EventToAppend } from '@tidings/core';
import { migrations } from '@tidings/migrations';
import { useTestEventStore } from '@tidings/testing';

const event = (type: string): EventToAppend => ({
  eventId: uuidV7Ids.next(),
  type,
  data: {},
  metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 },
});

/** The migration that gave multi-category groups a partition per category, run on checkpoints written before it. */
describe('migration GroupPartitions1764300000000', () => {
  const testStore = useTestEventStore();
  const { pool } = testStore;

  it('gives each category of a partition its checkpoint, keeps a block where its event is, and moves leases and dead letters', async () => {
    const { position: blockedOn } = await testStore.store.append('payment-1', [event('PaymentAuthorized')], { expectedVersion: 'no_stream' });
    // As the orders projection left them: one partition read orders and payments; partition 1 is blocked on a payment event.
    await pool.query(
      `INSERT INTO checkpoints (consumer_group, partition, position, read_model_version, blocked_position, blocked_error, blocked_at) VALUES
         ('projection.orders', 0, 100, 1, NULL, NULL, NULL), ('projection.orders', 1, 200, 1, $1, 'boom', now()),
         ('projection.products', 1, 50, 1, NULL, NULL, NULL)`,
      [blockedOn.toString()],
    );
    await pool.query(`INSERT INTO dead_letters (consumer_group, partition, position, event_id, stream_id, type, event, error, attempts)
                      VALUES ('projection.orders', 1, 150, $1, 'payment-7', 'PaymentCaptured', '{}', 'parked', 5)`, [uuidV7Ids.next()]);
    await pool.query(`INSERT INTO consumer_leases (consumer_group, partition, member, expires_at) VALUES ('projection.orders', 1, 'old-member', now() + interval '1 hour')`);

    const migration = migrations.find((candidate) => candidate.name === 'GroupPartitions1764300000000');
    if (!migration) throw new Error('no migration GroupPartitions1764300000000');
    await new migration().up({ query: (sql: string) => pool.query(sql) } as unknown as QueryRunner);

    const { rows } = await pool.query<{ consumer_group: string; partition: number; position: string; blocked_error: string | null }>(
      'SELECT consumer_group, partition, position, blocked_error FROM checkpoints ORDER BY consumer_group, partition',
    );
    // Partition p of order is 2p, of payment 2p + 1 (the projection's categories in order).
    expect(rows).toEqual([
      { consumer_group: 'projection.orders', partition: 0, position: '100', blocked_error: null },
      { consumer_group: 'projection.orders', partition: 1, position: '100', blocked_error: null },
      { consumer_group: 'projection.orders', partition: 2, position: '200', blocked_error: null },
      { consumer_group: 'projection.orders', partition: 3, position: '200', blocked_error: 'boom' },
      { consumer_group: 'projection.products', partition: 1, position: '50', blocked_error: null },
    ]);
    expect((await pool.query('SELECT partition FROM dead_letters')).rows).toEqual([{ partition: 3 }]);
    expect((await pool.query("SELECT * FROM consumer_leases WHERE consumer_group = 'projection.orders'")).rows).toEqual([]);
  });
});
