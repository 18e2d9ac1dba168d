import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@tidings/testing';
import { eventStoreContract, testEvent } from '../event-store.contract';
import { appendQuery } from './group-commit';
import { PostgresEventStore } from './postgres-event-store';

describe('PostgreSQL event store', () => {
  let database: TestDatabase;

  eventStoreContract(async () => {
    database = await createTestDatabase();
    const store = new PostgresEventStore({ connectionString: database.url });
    return {
      store,
      async beginOpenAppend(streamId, events) {
        const client = new Client({ connectionString: database.url });
        await client.connect();
        await client.query('BEGIN');
        const { rows } = await client.query(appendQuery([{ streamId, events, expectedVersion: 'any' }]));
        expect(rows[0].outcome).toBe('ok');
        const finish = (statement: string) => async () => {
          await client.query(statement);
          await client.end();
        };
        return { commit: finish('COMMIT'), rollback: finish('ROLLBACK') };
      },
      async close() {
        await store.close();
        await database.drop();
      },
    };
  });

  it('refuses to append inside a transaction that has already written (its position could not be gap-safe)', async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO checkpoints (consumer_group, position) VALUES ('earlier-write', 0)");
      await expect(client.query(appendQuery([{ streamId: 'inside-1', events: [testEvent()], expectedVersion: 'any' }]))).rejects.toThrow(
        /first write of its transaction/,
      );
    } finally {
      await client.query('ROLLBACK');
      await client.end();
    }
  });

  it('shows an event at once while a transaction that wrote something else stays open (only appends hold readers back)', async () => {
    const client = new Client({ connectionString: database.url });
    const store = new PostgresEventStore({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO checkpoints (consumer_group, position) VALUES ('open-meanwhile', 0)");
      const { position } = await store.append('while-open-1', [testEvent()], { expectedVersion: 'any' });

      expect((await store.readAll({ fromPosition: position - 1n, limit: 1 })).map((event) => event.position)).toEqual([position]);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(position);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
      await store.close();
    }
  });

  describe('append-only events table', () => {
    let client: Client;
    beforeAll(async () => {
      client = new Client({ connectionString: database.url });
      await client.connect();
    });
    afterAll(() => client.end());

    it.each(['UPDATE events SET type = $$Changed$$', 'DELETE FROM events', 'TRUNCATE events'])(
      'refuses %s',
      async (statement) => {
        const store = new PostgresEventStore({ connectionString: database.url });
        await store.append('append-only-1', [testEvent()], { expectedVersion: 'any' });
        await store.close();
        await expect(client.query(statement)).rejects.toThrow(/append-only/);
        const { rows } = await client.query("SELECT count(*)::int AS n FROM events WHERE type <> 'Changed'");
        expect(rows[0].n).toBeGreaterThan(0);
      },
    );
  });
});
