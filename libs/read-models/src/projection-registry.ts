import { setTimeout as delay } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { quoteIdentifier } from './database';
import { tablesOf, type Projection, type ProjectionTables } from './projection';
import { inSavepoint, inTransaction } from './transaction';

/** Makes sure version 1 of a projection exists (tables, views, registry row); returns its current version. */
export async function ensureProjection(pool: Pool, projection: Projection): Promise<number> {
  const known = await currentVersion(pool, projection.name);
  if (known !== undefined) return known;
  return inTransaction(pool, async (db) => {
    await db.query("SELECT pg_advisory_xact_lock(hashtext('tidings.projection:' || $1))", [projection.name]);
    const version = await currentVersion(db, projection.name);
    if (version !== undefined) return version;
    await createTables(db, projection, 1);
    await pointViewsAt(db, tablesOf(projection, 1));
    await db.query('INSERT INTO projections (name, version) VALUES ($1, 1)', [projection.name]);
    return 1;
  });
}

export async function currentVersion(db: Pool | PoolClient, name: string): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number }>({ name: 'tidings_projection_version', text: 'SELECT version FROM projections WHERE name = $1', values: [name] });
  return rows[0]?.version;
}

/** Creates a version's tables afresh (a crashed rebuild may have left some behind). */
export async function createTables(db: PoolClient, projection: Projection, version: number): Promise<ProjectionTables> {
  const tables = tablesOf(projection, version);
  for (const [view, table] of Object.entries(tables)) {
    await db.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
    await db.query(projection.tables[view](quoteIdentifier(table)));
  }
  return tables;
}

/** Readers query the views; repointing them inside a transaction switches every reader at once. */
export async function pointViewsAt(db: PoolClient, tables: ProjectionTables): Promise<void> {
  await lockViews(db, Object.keys(tables));
  for (const [view, table] of Object.entries(tables)) {
    await db.query(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
    await db.query(`CREATE VIEW ${quoteIdentifier(view)} AS SELECT * FROM ${quoteIdentifier(table)}`);
  }
}

/** How long the switch waits for the views' locks before it lets go of those it has and tries again. */
const VIEW_LOCK_WAIT_MS = 100;
const VIEW_LOCK_GIVE_UP_MS = 60_000;

/**
 * Takes every existing view of the projection before any is repointed, all of them or none. A
 * reader of several views (a feed page reads posts and feed items) holds one while it waits for
 * the next; a switch that held that next one while waiting for the first would deadlock with
 * it, and PostgreSQL would fail one of them. Waiting at most VIEW_LOCK_WAIT_MS at a time, well
 * under the deadlock timeout, the switch lets go and tries again instead.
 */
async function lockViews(db: PoolClient, views: readonly string[]): Promise<void> {
  const { rows } = await db.query<{ view: string }>('SELECT viewname AS view FROM pg_views WHERE schemaname = current_schema() AND viewname = ANY($1) ORDER BY viewname', [views]);
  if (rows.length === 0) return;
  const lock = `LOCK TABLE ${rows.map(({ view }) => quoteIdentifier(view)).join(', ')} IN ACCESS EXCLUSIVE MODE`;
  const started = Date.now();
  for (;;) {
    try {
      await inSavepoint(db, async () => {
        await db.query(`SET LOCAL lock_timeout = ${VIEW_LOCK_WAIT_MS}`);
        await db.query(lock);
        await db.query('SET LOCAL lock_timeout TO DEFAULT');
      });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE || Date.now() - started > VIEW_LOCK_GIVE_UP_MS) throw error;
      await delay(Math.random() * VIEW_LOCK_WAIT_MS);
    }
  }
}

const LOCK_NOT_AVAILABLE = '55P03';

export async function dropTables(db: PoolClient, tables: ProjectionTables): Promise<void> {
  for (const table of Object.values(tables)) await db.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
}
