import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE_CONNECT_TIMEOUT_MS } from '@tidings/settings';
import { migrations } from '@tidings/migrations';
import { isUndefinedTable } from './transaction';

// A bigint, passed as text: JavaScript numbers cannot hold it exactly.
const MIGRATION_LOCK = '7305014520460374434';

export type MigrationReport = Readonly<{ database: string; created: boolean; applied: string[] }>;

/**
 * Brings the database named by the URL to the newest schema, creating the database if it is
 * missing. Safe to run again and from several processes at once: applied migrations are
 * skipped, and an advisory lock lets one process migrate while the others wait.
 */
export async function migrate(databaseUrl: string): Promise<MigrationReport> {
  const created = await ensureDatabase(databaseUrl);
  const lock = await connectClient(databaseUrl);
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl,
    connectTimeoutMS: DATABASE_CONNECT_TIMEOUT_MS,
    migrations,
    migrationsTableName: 'tidings_migrations',
    logging: ['error'],
  });
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await dataSource.initialize();
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return { database: databaseName(databaseUrl), created, applied: applied.map((migration) => migration.name) };
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await lock.end();
  }
}

/**
 * The migrations of this build the existing database named by the URL has not applied (oldest
 * first): none when its schema is this build's, or newer.
 */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  await existingDatabase(databaseUrl);
  const client = await connectClient(databaseUrl);
  try {
    const applied = await client.query<{ name: string }>('SELECT name FROM tidings_migrations').then(
      ({ rows }) => new Set(rows.map((row) => row.name)),
      (error: unknown) => (isUndefinedTable(error) ? new Set<string>() : Promise.reject(error)),
    );
    return migrations.map((migration) => new migration().name ?? migration.name).filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * A connection of its own (a lock's, an administrator's). Losing the server fails its statements
 * with the error; the client's own report of it, unheard, would end the process.
 */
export async function connectClient(connectionString: string, applicationName?: string): Promise<Client> {
  const client = new Client({ connectionString, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS, ...(applicationName ? { application_name: applicationName } : {}) });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    // pg says only "timeout expired" or "Connection terminated unexpectedly" (a server that is no PostgreSQL): the operator needs to know where.
    const { host } = new URL(connectionString);
    if (/timeout/i.test((error as Error).message)) throw new Error(`PostgreSQL at ${host} did not answer within ${DATABASE_CONNECT_TIMEOUT_MS / 1000} s`, { cause: error });
    if (/terminated unexpectedly/i.test((error as Error).message)) throw new Error(`what answers at ${host} closed the connection: is it PostgreSQL, and is DATABASE_URL right?`, { cause: error });
    throw error;
  }
  return client;
}

/** False, as nothing was created; throws when the URL's database does not exist. */
/** A missing database is an error: a mistyped URL must not give an operator's command a new, empty system to report on. */
async function existingDatabase(databaseUrl: string): Promise<void> {
  const admin = await connectClient(withDatabase(databaseUrl, 'postgres'));
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName(databaseUrl)]);
    if (!rowCount) throw new Error(`database "${databaseName(databaseUrl)}" does not exist: check DATABASE_URL, or create it with tidings migrate`);
  } finally {
    await admin.end();
  }
}

/** Creates the URL's database when it does not exist; true when it did not. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  const admin = await connectClient(withDatabase(databaseUrl, 'postgres'));
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    return true;
  } catch (error) {
    // Created meanwhile by another process: duplicate_database, or the catalog's unique index in a close race.
    if (['42P04', '23505'].includes((error as { code?: string }).code ?? '')) return false;
    throw error;
  } finally {
    await admin.end();
  }
}

export const databaseName = (databaseUrl: string): string => decodeURIComponent(new URL(databaseUrl).pathname.slice(1));

export const withDatabase = (databaseUrl: string, database: string): string => {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
};

export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
