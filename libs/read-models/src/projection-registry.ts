import type { Pool, PoolClient } from 'pg';
import { quoteIdentifier } from './database';
import { tablesOf, type Projection, type ProjectionTables } from './projection';
import { inTransaction } from './transaction';

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
  for (const [view, table] of Object.entries(tables)) {
    await db.query(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
    await db.query(`CREATE VIEW ${quoteIdentifier(view)} AS SELECT * FROM ${quoteIdentifier(table)}`);
  }
}

export async function dropTables(db: PoolClient, tables: ProjectionTables): Promise<void> {
  for (const table of Object.values(tables)) await db.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
}
