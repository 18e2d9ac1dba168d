import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
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
export async function createTestDatabase(): Promise<TestDatabase> {
  const runId = process.env.TIDINGS_TEST_RUN;
  const template = process.env.TIDINGS_TEST_TEMPLATE;
  if (!runId || !template) throw new Error('the test run was not set up: run the tests with `npm test`');
  const name = `${RUN_PREFIX}${runId}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(template)}`);
        return;
      } catch (error) {
        // Two copies of one template at the same moment can collide; the next try succeeds.
        if ((error as { code?: string }).code !== '55006' || attempt === 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
  return { url: withDatabase(testServerUrl(), name), name, drop: () => dropDatabases([name]) };
}

/** Drops every database of a run: its template and whatever a crashed test left behind. */
export async function dropRunDatabases(runId: string): Promise<void> {
  const names = await withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
      [`${RUN_PREFIX}${runId}_`],
    );
    return rows.map((row) => row.datname);
  });
  await dropDatabases(names);
}

const dropDatabases = (names: readonly string[]) =>
  withAdmin(async (admin) => {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  });

async function withAdmin<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: withDatabase(testServerUrl(), 'postgres') });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
