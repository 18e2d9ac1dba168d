import { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import { pendingMigrations, type Projection } from '@tidings/read-models';
import { loadSettings, type Settings } from '@tidings/settings';
import { projectionCatalog } from '@tidings/apps-projector';

export type OperatorConnections = Readonly<{ settings: Settings; pool: Pool; store: EventStore }>;

/**
 * Opens what an operator command needs on a database migrated to this build's schema, and closes
 * it afterwards. It neither creates nor migrates the database: an operator looking at a running
 * deployment with a newer CLI must not change its schema under it (some migrations want the
 * projectors stopped first); `tidings migrate` does that when asked.
 */
export async function withOperatorConnections<T>(work: (connections: OperatorConnections) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  const pending = await pendingMigrations(settings.databaseUrl);
  if (pending.length) throw new SchemaBehind(`the database has not been migrated to this build (${pending.join(', ')} pending): run tidings migrate first, as the release's notes say (some migrations want the projectors stopped)`);
  // Pipelining, as the roles' pools: projections (a rebuild's, a dead letter's replay) send statements together.
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 4, application_name: 'tidings-cli', pipeline: true });
  const store = openEventStore(settings);
  try {
    return await work({ settings, pool, store });
  } finally {
    await store.close();
    await pool.end();
  }
}

export class SchemaBehind extends Error {
  override readonly name = 'SchemaBehind';
}

export class UnknownProjection extends Error {
  override readonly name = 'UnknownProjection';
}

export function projectionNamed(settings: Settings, name: string): Projection {
  const catalog = projectionCatalog(settings);
  const projection = catalog.find((candidate) => candidate.name === name);
  if (!projection) throw new UnknownProjection(`no projection "${name}"; known: ${catalog.map((known) => known.name).join(', ')}`);
  return projection;
}
