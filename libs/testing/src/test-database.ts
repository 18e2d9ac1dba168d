import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Pool } from 'pg';
import { migrate, quoteIdentifier, withDatabase } from '@tidings/read-models';

/** The server the tests use; each run works in databases of its own there. */
export const testServerUrl = (): string =>
  process.env.TIDINGS_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const RUN_PREFIX = 'tidings_test_';

export const newRunId = (): string => randomBytes(4).toString('hex');

/** Creates the run's template database, migrated once, that every test database is copied from. */
export async function createTemplateDatabase(runId: string): Promise<string> {
  const name = `${RUN_PREFIX}${runId}_template`;
  await migrate(withDatabase(testServerUrl(), name));
  return name;
}

export type TestDatabase = Readonly<{ url: string; name: string; drop: () => Promise<void> }>;

/** A fresh, migrated database for one test file: a copy of the run's template. */
export async function createTestDatabase(name = newTestDatabaseName()): Promise<TestDatabase> {
  const template = process.env.TIDINGS_TEST_TEMPLATE;
  if (!template) throw new Error('the test run was not set up: run the tests with `npm test`');
  await withAdmin(async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(template)}`);
        return;
      } catch (error) {
        // Two copies of one template at the same moment can collide; the next try succeeds.
        if ((error as { code?: string }).code !== '55006' || attempt === 20) throw error;
        await delay(50 * attempt);
      }
    }
  });
  return testDatabase(name);
}

const testDatabase = (name: string): TestDatabase => ({
  url: withDatabase(testServerUrl(), name),
  name,
  drop: () =>
    withAdmin(async (admin) => {
      await untilDisconnected(admin, name);
      await forceDrop(admin, name);
    }),
});

function newTestDatabaseName(): string {
  const runId = process.env.TIDINGS_TEST_RUN;
  if (!runId) throw new Error('the test run was not set up: run the tests with `npm test`');
  return `${RUN_PREFIX}${runId}_${randomBytes(4).toString('hex')}`;
}

/**
 * For a test file: a fresh database, created before the file's tests and dropped after them,
 * and a pool on it that connects at its first query and is ended before the drop.
 */
export function useTestDatabase(): { readonly database: TestDatabase; readonly pool: Pool } {
  const database = testDatabase(newTestDatabaseName());
  // Pipelining, as the processes' pools do.
  const pool = new Pool({ connectionString: database.url, pipeline: true });
  // Should a connection outlive the wait before the drop, its cut (reported by the wait) must not crash the file.
  pool.on('error', () => undefined);
  beforeAll(async () => {
    await createTestDatabase(database.name);
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  return { database, pool };
}

/** Drops every database of a run, connections and all: its template and whatever a crashed test left behind. */
export async function dropRunDatabases(runId: string): Promise<void> {
  const names = await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [`${RUN_PREFIX}${runId}_`],
    );
    return rows.map((row) => row.datname);
  });
  await withAdmin(async (admin) => {
    for (const name of names) await forceDrop(admin, name);
  });
}

const forceDrop = (admin: Client, name: string) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);

const DISCONNECT_WAIT_MS = 5_000;

/**
 * Waits, a few seconds at most, for the clients of a database to disconnect. A pool's end()
 * resolves before its connections are gone; a forced drop cutting one of them would hand
 * that pool an error that may crash the test file. Says which clients outlived the wait.
 */
async function untilDisconnected(admin: Client, name: string): Promise<void> {
  const deadline = Date.now() + DISCONNECT_WAIT_MS;
  for (;;) {
    const { rows } = await admin.query<{ application_name: string; state: string | null }>(
      "SELECT application_name, state FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
      [name],
    );
    if (rows.length === 0) return;
    if (Date.now() >= deadline) {
      const clients = rows.map((row) => `${row.application_name || 'unnamed'} (${row.state ?? 'unknown'})`).join(', ');
      process.stderr.write(`test database ${name}: still connected after ${DISCONNECT_WAIT_MS} ms, dropped anyway: ${clients}\n`);
      return;
    }
    await delay(20);
  }
}

async function withAdmin<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: withDatabase(testServerUrl(), 'postgres') });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
