import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from 'pg';
import { createTestDatabase, eventually, type TestDatabase } from '@tidings/testing';
import { collect, eventStoreContract, expectOrderedOnce, testEvent } from '../event-store.contract';
import { appendQuery } from './group-commit';
import { PostgresEventStore } from './postgres-event-store';

/** `$all` shows the event at `position`, readAll and the head alike (looked at until it does, for at most 10 s). */
async function expectShown(store: PostgresEventStore, position: bigint): Promise<void> {
  await eventually(async () => {
    expect((await store.readAll({ fromPosition: position - 1n, limit: 1 })).map((event) => event.position)).toEqual([position]);
    expect(await store.headPosition()).toBeGreaterThanOrEqual(position);
  });
}

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
      eventIdsUniqueAcrossStreams: true,
      openAnother: () => new PostgresEventStore({ connectionString: database.url }),
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

  it('shows an event while a transaction that wrote something else stays open (only appends hold readers back)', async () => {
    const client = new Client({ connectionString: database.url });
    const store = new PostgresEventStore({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO checkpoints (consumer_group, position) VALUES ('open-meanwhile', 0)");
      const { position } = await store.append('while-open-1', [testEvent()], { expectedVersion: 'any' });

      // This transaction stays open throughout.
      await expectShown(store, position);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
      await store.close();
    }
  });

  it('shows an event while an append to another database of the server stays open (it goes to that database\'s events)', async () => {
    const elsewhere = await createTestDatabase();
    const client = new Client({ connectionString: elsewhere.url });
    const store = new PostgresEventStore({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(appendQuery([{ streamId: 'elsewhere-1', events: [testEvent()], expectedVersion: 'any' }]));
      expect(rows[0].outcome).toBe('ok');
      // Its transaction id is below this append's, and it stays open throughout.
      const { position } = await store.append('while-elsewhere-1', [testEvent()], { expectedVersion: 'any' });

      await expectShown(store, position);
    } finally {
      await client.query('ROLLBACK');
      await client.end();
      await store.close();
      await elsewhere.drop();
    }
  });

  it('delivers every event once, in order, while appends that commit late race with transactions that append nothing', async () => {
    const store = new PostgresEventStore({ connectionString: database.url });
    const prefix = `race-${randomUUID().slice(0, 8)}-`;
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = new Client({ connectionString: database.url });
        await client.connect();
        return client;
      }),
    );
    const subscriber = collect(store, await store.headPosition(), prefix);
    const moment = () => delay(Math.random() * 5);
    let racing = true;
    // Transactions that take an id and hold it a moment: readers need not wait for them.
    const others = clients.slice(0, 4).map(async (client) => {
      while (racing) {
        await client.query('BEGIN');
        await client.query('SELECT pg_current_xact_id()');
        await moment();
        await client.query('COMMIT');
      }
    });
    try {
      // Appends that take their positions, then commit a moment later: readers must wait for them.
      const late = clients.slice(4).map(async (client, i) => {
        for (let round = 0; round < 25; round++) {
          await client.query('BEGIN');
          await client.query(appendQuery([{ streamId: `${prefix}late-${i}`, events: [testEvent()], expectedVersion: 'any' }]));
          await moment();
          await client.query('COMMIT');
        }
      });
      const pooled = Array.from({ length: 4 }, async (_, i) => {
        for (let round = 0; round < 25; round++) await store.append(`${prefix}pooled-${i}`, [testEvent(), testEvent()], { expectedVersion: 'any' });
      });
      await Promise.all([...late, ...pooled]);

      await eventually(() => expect(subscriber.received).toHaveLength(4 * 25 + 4 * 25 * 2), { timeoutMs: 15_000 });
      expectOrderedOnce(subscriber.received);
    } finally {
      racing = false;
      await Promise.allSettled(others);
      await subscriber.stop();
      await Promise.all(clients.map((client) => client.end()));
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
