import { configBucketOf } from '@tidings/config';
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
  // PostgreSQL cuts longer names to 63 bytes: `<database>_bench` could become the deployment's own database, which the bench drops.
  if (Buffer.byteLength(database) > MAX_IDENTIFIER_BYTES) {
    throw new Error(`the bench's database would be ${database}, longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes: point DATABASE_URL at a database with a shorter name`);
  }
  return { ...settings, databaseUrl: withDatabase(settings.databaseUrl, database), namespace: `${settings.namespace.slice(0, 26)}_bench` };
}

/** JetStream's answer for a stream it does not have (nats.js puts its code on the error). */
const STREAM_NOT_FOUND = '404';

/** The longest name PostgreSQL keeps whole (NAMEDATALEN − 1). */
const MAX_IDENTIFIER_BYTES = 63;

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
  const nats = await connectNats(settings, 'tidings-bench');
  try {
    const jsm = await nats.jetstreamManager();
    for (const stream of [topology.stream, workQueueOf(topology, IMPORT_WORK_QUEUE, 0).stream, `KV_${configBucketOf(settings.namespace)}`]) {
      await jsm.streams.delete(stream).catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== STREAM_NOT_FOUND) throw error;
      });
    }
  } finally {
    await nats.close();
  }
  await migrate(settings.databaseUrl);
}
