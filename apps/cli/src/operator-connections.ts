import { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import { migrate, type Projection } from '@tidings/read-models';
import { loadSettings, type Settings } from '@tidings/settings';
import { projectionCatalog } from '@tidings/apps-projector';

export type OperatorConnections = Readonly<{ settings: Settings; pool: Pool; store: EventStore }>;

/** Opens what an operator command needs on a migrated database (which it does not create), and closes it afterwards. */
export async function withOperatorConnections<T>(work: (connections: OperatorConnections) => Promise<T>): Promise<T> {
  const settings = loadSettings();
  await migrate(settings.databaseUrl, { create: false });
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

export class UnknownProjection extends Error {
  override readonly name = 'UnknownProjection';
}

export function projectionNamed(settings: Settings, name: string): Projection {
  const catalog = projectionCatalog(settings);
  const projection = catalog.find((candidate) => candidate.name === name);
  if (!projection) throw new UnknownProjection(`no projection "${name}"; known: ${catalog.map((known) => known.name).join(', ')}`);
  return projection;
}
