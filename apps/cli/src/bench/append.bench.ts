import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { uuidV7Ids, type EventToAppend } from '@tidings/core';
import { PostgresEventStore } from '@tidings/event-store';
import { migrate } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { compared, median, timeWorkers, type BenchResult } from './bench-result';

const ROUNDS = 3;

type Append = Readonly<{ streamId: string; expectedVersion: number; events: readonly EventToAppend[] }>;

type AppendWorkload = Readonly<{
  workload: 'append' | 'append_batch';
  baseline: string;
  streams: number;
  appendsPerStream: number;
  eventsPerAppend: number;
  writers: number;
}>;

/** QUALITY.md: 20k events, 1 event per append with exact expected version, 2k streams, 16 writers. */
export const APPEND: AppendWorkload = {
  workload: 'append',
  baseline: 'raw_single_insert_c16',
  streams: 2_000,
  appendsPerStream: 10,
  eventsPerAppend: 1,
  writers: 16,
};

/** QUALITY.md: 100 events per append, against a raw multi-row INSERT of the same rows. */
export const APPEND_BATCH: AppendWorkload = {
  workload: 'append_batch',
  baseline: 'raw_multi_row_insert_c16',
  streams: 500,
  appendsPerStream: 1,
  eventsPerAppend: 100,
  writers: 16,
};

/**
 * Appends the same rows twice: through the event store (group commit, expected versions,
 * idempotency checks) and as raw INSERTs into a table of the same shape on the same server,
 * over the same number of connections. The ratio is store throughput over raw throughput.
 */
export async function benchAppend(settings: Settings, spec: AppendWorkload): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const run = randomUUID().slice(0, 8);
  const rawTable = `bench_raw_events_${run}`;
  const admin = new Client({ connectionString: settings.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE TABLE ${rawTable} (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL, stream_version bigint NOT NULL,
    type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))`);
  const store = new PostgresEventStore({ connectionString: settings.databaseUrl, poolSize: spec.writers });
  const raw = await Promise.all(Array.from({ length: spec.writers }, () => connect(settings.databaseUrl)));
  try {
    await warmUp(spec, store, raw, rawTable, run);
    const total = spec.streams * spec.appendsPerStream * spec.eventsPerAppend;
    const rawRates: number[] = [];
    const storeRates: number[] = [];
    // Alternating rounds, medians: background work one phase leaves (autovacuum, checkpoints) falls on both.
    for (let round = 1; round <= ROUNDS; round++) {
      const rawSeconds = await measured(`${spec.workload} baseline ${round}/${ROUNDS}`, total, perWriter(spec, `bench-${run}-raw${round}`), (append, writer) =>
        insertRaw(raw[writer], rawTable, append),
      );
      const storeSeconds = await measured(`${spec.workload} event store ${round}/${ROUNDS}`, total, perWriter(spec, `bench-${run}-store${round}`), (append) =>
        store.append(append.streamId, append.events, { expectedVersion: append.expectedVersion === -1 ? 'no_stream' : append.expectedVersion }),
      );
      rawRates.push(total / rawSeconds);
      storeRates.push(total / storeSeconds);
    }
    return compared(spec.workload, 'events_per_s', median(storeRates), spec.baseline, median(rawRates));
  } finally {
    await Promise.all(raw.map((client) => client.end()));
    await store.close();
    await admin.query(`DROP TABLE IF EXISTS ${rawTable}`);
    await admin.end();
  }
}

/** Every writer owns its streams and appends to them in version order, so no append loses a race. */
function perWriter(spec: AppendWorkload, streamPrefix: string): Append[][] {
  const lists: Append[][] = Array.from({ length: spec.writers }, () => []);
  for (let version = 0; version < spec.appendsPerStream; version++) {
    for (let stream = 0; stream < spec.streams; stream++) {
      lists[stream % spec.writers].push({
        streamId: `${streamPrefix}-${stream}`,
        expectedVersion: version * spec.eventsPerAppend - 1,
        events: Array.from({ length: spec.eventsPerAppend }, (_, i) => benchEvent(stream, version * spec.eventsPerAppend + i)),
      });
    }
  }
  return lists;
}

const benchEvent = (stream: number, n: number): EventToAppend => ({
  eventId: uuidV7Ids.next(),
  type: 'StockReceived',
  data: { sku: `SKU-${stream}`, quantity: (n % 50) + 1, warehouse: 'bench-1', note: 'benchmark event with a realistic body' },
  metadata: { correlationId: uuidV7Ids.next(), causationId: uuidV7Ids.next(), actor: 'bench', schemaVersion: 1 },
});

async function measured(label: string, total: number, lists: Append[][], work: (append: Append, writer: number) => Promise<unknown>) {
  const progress = startProgress(label, total);
  const seconds = await timeWorkers(lists, async (append, writer) => {
    await work(append, writer);
    progress.advance(append.events.length);
  });
  progress.stop();
  return seconds;
}

const connect = async (url: string) => {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
};

/** One INSERT per append: single-row for 1 event, multi-row for many. */
function insertRaw(client: Client, table: string, append: Append) {
  const rows = append.events.map((event, i) => [
    event.eventId, append.streamId, append.expectedVersion + 1 + i, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata),
  ]);
  const placeholders = rows.map((_, r) => `(${[1, 2, 3, 4, 5, 6].map((c) => `$${r * 6 + c}`).join(', ')})`).join(', ');
  return client.query({
    name: `raw_insert_${rows.length}`,
    text: `INSERT INTO ${table} (event_id, stream_id, stream_version, type, data, metadata) VALUES ${placeholders}`,
    values: rows.flat(),
  });
}

/** Opens connections, prepares statements and warms caches on both paths before timing. */
async function warmUp(spec: AppendWorkload, store: PostgresEventStore, raw: Client[], rawTable: string, run: string) {
  const warm: AppendWorkload = { ...spec, streams: spec.writers * 4, appendsPerStream: 1 };
  await timeWorkers(perWriter(warm, `bench-${run}-warm-raw`), (append, writer) => insertRaw(raw[writer], rawTable, append).then(() => undefined));
  await timeWorkers(perWriter(warm, `bench-${run}-warm-store`), (append) =>
    store.append(append.streamId, append.events, { expectedVersion: 'no_stream' }).then(() => undefined),
  );
}
