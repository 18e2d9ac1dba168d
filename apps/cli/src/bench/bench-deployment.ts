import { IMPORT_WORK_QUEUE } from '@tidings/imports';
import { connectNats, eventTopology, workQueueOf } from '@tidings/messaging';
import { connectClient, databaseName, migrate, quoteIdentifier, withDatabase } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';

/**
 * Where `tidings bench` runs: a database and a namespace of its own beside the configured ones
 * (`<database>_bench`, `<namespace>_bench`), so what a workload writes (200,000 product events,
 * say) never reaches the deployment's event store, streams or read models.
 */
export function benchSettings(settings: Settings): Settings {
  const database = `${databaseName(settings.databaseUrl)}_bench`;
  return { ...settings, databaseUrl: withDatabase(settings.databaseUrl, database), namespace: `${settings.namespace.slice(0, 26)}_bench` };
}

/**
 * Empties the bench's database (created again, migrated) and JetStream streams before a run: each
 * run starts from nothing rather than from what the last one left (JetStream keeps every stream,
 * and a server holding earlier runs' streams gave the views bench a fifth fewer views a second).
 */
export async function resetBenchDeployment(settings: Settings): Promise<void> {
  const admin = await connectClient(withDatabase(settings.databaseUrl, 'postgres'));
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(databaseName(settings.databaseUrl))} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  const topology = eventTopology(settings.namespace, settings.partitions);
  const streams = new Set([topology.stream, workQueueOf(topology, IMPORT_WORK_QUEUE, 0).stream, `KV_${settings.namespace}_config`]);
  const nats = await connectNats(settings, 'tidings-bench');
  try {
    const jsm = await nats.jetstreamManager();
    for await (const { config } of jsm.streams.list()) if (streams.has(config.name)) await jsm.streams.delete(config.name);
  } finally {
    await nats.close();
  }
  await migrate(settings.databaseUrl);
}
