import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '@tidings/migrations';

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
 * A connection of its own (a lock's, an administrator's). Losing the server fails its statements
 * with the error; the client's own report of it, unheard, would end the process.
 */
export async function connectClient(connectionString: string, applicationName?: string): Promise<Client> {
  const client = new Client({ connectionString, ...(applicationName ? { application_name: applicationName } : {}) });
  client.on('error', () => undefined);
  await client.connect();
  return client;
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
