import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { Client, Pool } from 'pg';
import { uuidV7Ids, type RecordedEvent } from '@tidings/core';
import { productsProjection, productStreamId } from '@tidings/inventory';
import {
  connectNats,
  ConsumerRuntime,
  ensureEventStream,
  eventTopology,
  firstSequenceAfter,
  groupPartitionSubject,
  partitionConsumerName,
  partitionOf,
  type EventTopology,
} from '@tidings/messaging';
import { ensureProjection, migrate, ProjectionConsumer, quoteIdentifier } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { compared, median, type BenchResult } from './bench-result';
import { benchProductsProjection, dropBenchProjection, inventoryHistory, viewOf } from './rebuild.bench';
import { deleteStreams, eventMessages, publishAll, PUBLISH_WINDOW } from './relay.bench';

const ROUNDS = 3;
/** QUALITY.md: 50k inventory events, here 5k products of 10 events each. */
const PRODUCTS = 5_000;
const EVENTS_PER_PRODUCT = 10;
const WARM_UP_PRODUCTS = 500;
/** Messages per fetch and per transaction, and the most a partition has unacknowledged, on both paths. */
const BATCH = 500;
/** ConsumerRuntime's default, given to both paths. */
const ACK_WAIT_MS = 30_000;
const NANOS_PER_MS = 1_000_000;
/** A path whose checkpoints move nowhere for this long has failed. */
const STALL_MS = 30_000;
const POLL_MS = 10;

type Round = Readonly<{
  settings: Settings;
  nats: NatsConnection;
  jsm: JetStreamManager;
  pool: Pool;
  watcher: Client;
  topology: EventTopology;
  events: readonly RecordedEvent[];
  /** The last event's position of each partition: where its checkpoint has to get. */
  last: ReadonlyMap<number, bigint>;
  name: string;
  label: string;
}>;

/**
 * Times the products/stock read model fed from JetStream: 50k inventory events are published
 * into a fresh stream (not timed), then consumed by the real path — ConsumerRuntime running a
 * ProjectionConsumer of the products projection — and by a bare consumer written here — per
 * partition a durable pull consumer with the same settings, fetch a batch, one multi-row upsert
 * of the folded rows and the checkpoint in one transaction, ack — into a raw table of the same
 * shape. Both run the same partitions and batch size over the same stream; each is timed from
 * its start until every partition's checkpoint holds that partition's last position. The two
 * read models are compared after each round.
 */
export async function benchProject(settings: Settings): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const run = randomBytes(3).toString('hex');
  const nats = await connectNats(settings, `tidings-bench-project-${run}`);
  const jsm = await nats.jetstreamManager();
  const pool = new Pool({ connectionString: settings.databaseUrl });
  pool.on('error', () => undefined);
  const watcher = new Client({ connectionString: settings.databaseUrl });
  await watcher.connect();
  const streams: string[] = [];
  const names: string[] = [];
  try {
    const prepare = async (name: string, products: number) => {
      const topology = eventTopology(`${settings.namespace}_${name}`, settings.partitions);
      streams.push(topology.stream);
      names.push(name);
      const events = recorded(inventoryHistory(products, EVENTS_PER_PRODUCT, 7, `bench-${name}`));
      await publishEvents(nats, jsm, topology, [...events, ...fillers(name, topology.partitions, events.length)]);
      const last = new Map<number, bigint>();
      for (const event of events) last.set(partitionOf(event.streamId, topology.partitions), event.position);
      return { settings, nats, jsm, pool, watcher, topology, events, last, name };
    };
    const warmUp = await prepare(`bench_${run}_w`, WARM_UP_PRODUCTS);
    await timeBareConsumer({ ...warmUp, label: 'project warm-up baseline' });
    await timeConsumerRuntime({ ...warmUp, label: 'project warm-up runtime' });
    await cleanUp(pool, jsm, streams.splice(0), names.splice(0));
    const bareRates: number[] = [];
    const runtimeRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const prepared = await prepare(`bench_${run}_r${round}`, PRODUCTS);
      const phases = [
        async () => bareRates.push(prepared.events.length / (await timeBareConsumer({ ...prepared, label: `project baseline ${round}/${ROUNDS}` }))),
        async () => runtimeRates.push(prepared.events.length / (await timeConsumerRuntime({ ...prepared, label: `project runtime ${round}/${ROUNDS}` }))),
      ];
      // Alternating order: whatever one phase leaves behind (dead tuples, checkpoints) falls on both.
      for (const phase of round % 2 ? phases : phases.reverse()) await phase();
      await sameReadModels(pool, prepared.name, PRODUCTS);
      await cleanUp(pool, jsm, streams.splice(0), names.splice(0));
    }
    return compared('project', 'events_per_s', median(runtimeRates), 'bare_fetch_upsert_ack', median(bareRates));
  } finally {
    await cleanUp(pool, jsm, streams, names).catch(() => undefined);
    await watcher.end();
    await pool.end();
    await nats.close();
  }
}

/** The history as the store would have recorded it: positions 1, 2, … in history order. */
const recorded = (history: ReturnType<typeof inventoryHistory>): RecordedEvent[] => {
  const recordedAt = new Date();
  return history.map((event, index) => ({ ...event, position: BigInt(index + 1), recordedAt }));
};

/**
 * A fetch that its partition cannot fill waits for its expiry (1 s) before the batch is
 * applied, on both paths. So that both are timed at their steady rate rather than on that wait
 * at the very end, every partition gets one batch more of other products' registrations behind
 * the measured events: the batch holding a partition's last measured event is always full.
 * They are not counted, and not compared (`-fill-` SKUs).
 */
function fillers(name: string, partitions: number, after: number): RecordedEvent[] {
  const perPartition = new Array<number>(partitions).fill(0);
  const recordedAt = new Date();
  const events: RecordedEvent[] = [];
  for (let k = 0; events.length < partitions * BATCH; k++) {
    const sku = `bench-${name}-fill-${k}`;
    const streamId = productStreamId(sku);
    const partition = partitionOf(streamId, partitions);
    if (perPartition[partition] >= BATCH) continue;
    perPartition[partition]++;
    events.push({
      eventId: uuidV7Ids.next(),
      streamId,
      streamVersion: 0,
      type: 'ProductRegistered',
      data: { sku, name: `Filler ${k}`, priceCents: 100, currency: 'EUR' },
      metadata: { correlationId: uuidV7Ids.next(), causationId: uuidV7Ids.next(), actor: 'bench', schemaVersion: 1 },
      position: BigInt(after + events.length + 1),
      recordedAt,
    });
  }
  return events;
}

async function publishEvents(nats: NatsConnection, jsm: JetStreamManager, topology: EventTopology, events: readonly RecordedEvent[]): Promise<void> {
  await ensureEventStream(jsm, topology);
  const progress = startProgress(`publishing the events to project (${topology.stream})`, events.length);
  await publishAll(nats.jetstream(), eventMessages(topology, events), PUBLISH_WINDOW, () => progress.advance());
  progress.stop();
}

const rawTableOf = (name: string): string => `${name}_raw_products`;
const rawGroupOf = (name: string): string => `bench.raw_${name}`;

async function cleanUp(pool: Pool, jsm: JetStreamManager, streams: readonly string[], names: readonly string[]): Promise<void> {
  await deleteStreams(jsm, streams);
  for (const name of names) {
    await dropBenchProjection(pool, benchProductsProjection(name));
    await pool.query(`DROP TABLE IF EXISTS ${quoteIdentifier(rawTableOf(name))}`);
    await pool.query('DELETE FROM checkpoints WHERE consumer_group = $1', [rawGroupOf(name)]);
  }
}

/** ConsumerRuntime + ProjectionConsumer(products), as the projector runs them. */
async function timeConsumerRuntime(round: Round): Promise<number> {
  const projection = benchProductsProjection(round.name);
  await ensureProjection(round.pool, projection);
  const logged: string[] = [];
  const group = new ProjectionConsumer(round.pool, projection, { log: (line) => logged.push(line) });
  const runtime = new ConsumerRuntime({
    nats: round.nats,
    pool: round.pool,
    topology: round.topology,
    group,
    member: `bench-${round.name}`,
    leaseTtlMs: round.settings.leaseTtlMs,
    batching: { maxEvents: BATCH },
    ackWaitMs: ACK_WAIT_MS,
    warn: (line) => logged.push(line),
  });
  const started = process.hrtime.bigint();
  runtime.start();
  try {
    await checkpointsReach(round, group.name, () => {
      const blocked = runtime.partitions.find((partition) => partition.status === 'blocked');
      if (blocked) throw new Error(`partition ${blocked.partition} blocked: ${logged.slice(-3).join('; ')}`);
    }, () => logged.slice(-3).join('; '));
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await runtime.stop();
  }
}

/** The bare consumer: per partition, fetch, one upsert and the checkpoint in one transaction, ack. */
async function timeBareConsumer(round: Round): Promise<number> {
  const table = quoteIdentifier(rawTableOf(round.name));
  await round.pool.query(productsProjection.tables.products(table));
  const group = rawGroupOf(round.name);
  let failure: unknown;
  const started = process.hrtime.bigint();
  const loops = Promise.all([...round.last].map(([partition, last]) => bareLoop(round, group, table, partition, last))).catch((error: unknown) => {
    failure = error;
  });
  try {
    await checkpointsReach(round, group, () => {
      if (failure !== undefined) throw failure;
    }, () => '');
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await loops;
  }
}

async function bareLoop({ nats, jsm, pool, topology, name: member }: Round, group: string, table: string, partition: number, last: bigint): Promise<void> {
  // The durable consumer ConsumerRuntime creates for a partition it takes: its name, filter, start and limits.
  const name = partitionConsumerName(topology, group, partition, `bench-${member}`);
  await jsm.consumers.add(topology.stream, {
    durable_name: name,
    filter_subject: groupPartitionSubject(topology, productsProjection.categories, partition),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: await firstSequenceAfter(jsm, topology, 0n),
    max_ack_pending: BATCH,
    ack_wait: ACK_WAIT_MS * NANOS_PER_MS,
    max_deliver: -1,
  });
  const consumer = await nats.jetstream().consumers.get(topology.stream, name);
  let checkpoint = 0n;
  while (checkpoint < last) {
    const received: JsMsg[] = [];
    for await (const message of await consumer.fetch({ max_messages: BATCH, expires: 1_000 })) received.push(message);
    if (received.length === 0) continue;
    const events = received.map((message) => message.json<Envelope>()).filter((event) => BigInt(event.position) > checkpoint);
    if (events.length > 0) {
      const position = BigInt(events[events.length - 1].position);
      const db = await pool.connect();
      try {
        await db.query('BEGIN');
        await upsertFolded(db, table, events);
        await db.query(
          `INSERT INTO checkpoints (consumer_group, partition, position) VALUES ($1, $2, $3)
           ON CONFLICT (consumer_group, partition) DO UPDATE SET position = excluded.position, updated_at = now()`,
          [group, partition, position.toString()],
        );
        await db.query('COMMIT');
      } catch (error) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        db.release();
      }
      checkpoint = position;
    }
    for (const message of received) message.ack();
  }
}

type Envelope = Readonly<{ type: string; streamVersion: number; position: string; data: { sku: string; quantity?: number; name?: string; priceCents?: number; currency?: string } }>;

/** A product's change over a batch: catalog fields when registered in it, stock as deltas otherwise. */
type Folded = { sku: string; registered: boolean; name: string; priceCents: number; currency: string; onHand: number; reserved: number; version: number; position: string };

/**
 * Folds a batch into one row per product and writes them in one statement, without reading
 * them first: stock moves are added to the stored row, a registration in the batch replaces it.
 */
async function upsertFolded(db: { query: Pool['query'] }, table: string, events: readonly Envelope[]): Promise<void> {
  const rows = new Map<string, Folded>();
  for (const { type, data, streamVersion, position } of events) {
    let row = rows.get(data.sku);
    if (!row) {
      row = { sku: data.sku, registered: false, name: '', priceCents: -1, currency: '', onHand: 0, reserved: 0, version: streamVersion, position };
      rows.set(data.sku, row);
    }
    const quantity = data.quantity ?? 0;
    if (type === 'ProductRegistered') {
      Object.assign(row, { registered: true, name: data.name, priceCents: data.priceCents, currency: data.currency, onHand: 0, reserved: 0 });
    } else if (type === 'StockReceived') row.onHand += quantity;
    else if (type === 'StockReserved') row.reserved += quantity;
    else if (type === 'StockReleased') row.reserved -= quantity;
    else if (type === 'StockCommitted') {
      row.onHand -= quantity;
      row.reserved -= quantity;
    }
    row.version = streamVersion;
    row.position = position;
  }
  const written = [...rows.values()];
  const keep = (column: string) => `${column} = CASE WHEN excluded.price_cents < 0 THEN t.${column} ELSE excluded.${column} END`;
  const add = (column: string) => `${column} = CASE WHEN excluded.price_cents < 0 THEN t.${column} + excluded.${column} ELSE excluded.${column} END`;
  await db.query(
    `INSERT INTO ${table} AS t (sku, name, price_cents, currency, on_hand, reserved, available, version, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[])
     ON CONFLICT (sku) DO UPDATE SET ${keep('name')}, ${keep('currency')}, ${add('on_hand')}, ${add('reserved')}, ${add('available')},
       ${keep('price_cents')}, version = excluded.version, position = excluded.position`,
    [
      written.map((row) => row.sku),
      written.map((row) => row.name),
      written.map((row) => row.priceCents),
      written.map((row) => row.currency),
      written.map((row) => row.onHand),
      written.map((row) => row.reserved),
      written.map((row) => row.onHand - row.reserved),
      written.map((row) => row.version),
      written.map((row) => row.position),
    ],
  );
}

/** Polls the checkpoints of a group until every partition holds its last position; `check` throws when the path failed. */
async function checkpointsReach({ watcher, last, events, topology, label }: Round, group: string, check: () => void, lastWords: () => string): Promise<void> {
  const positions = new Map<number, bigint[]>();
  for (const event of events) {
    const partition = partitionOf(event.streamId, topology.partitions);
    const list = positions.get(partition);
    if (list) list.push(event.position);
    else positions.set(partition, [event.position]);
  }
  const progress = startProgress(label, events.length);
  let done = 0;
  let progressed = Date.now();
  try {
    for (;;) {
      check();
      const { rows } = await watcher.query<{ partition: number; position: string }>(
        'SELECT partition, position FROM checkpoints WHERE consumer_group = $1',
        [group],
      );
      const reached = new Map(rows.map((row) => [row.partition, BigInt(row.position)]));
      const now = [...positions].reduce((sum, [partition, list]) => sum + countUpTo(list, reached.get(partition) ?? 0n), 0);
      if (now > done) {
        progress.advance(now - done);
        done = now;
        progressed = Date.now();
      } else if (Date.now() - progressed > STALL_MS) {
        throw new Error(`${group}: no checkpoint moved for ${STALL_MS / 1000} s at ${done}/${events.length} events ${lastWords()}`);
      }
      if ([...last].every(([partition, position]) => (reached.get(partition) ?? 0n) >= position)) return;
      await delay(POLL_MS);
    }
  } finally {
    progress.stop();
  }
}

function countUpTo(positions: readonly bigint[], position: bigint): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle] <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Both paths must have built the same products and stock, or the comparison means nothing. */
async function sameReadModels(pool: Pool, name: string, products: number): Promise<void> {
  const projected = quoteIdentifier(viewOf(benchProductsProjection(name)));
  const raw = quoteIdentifier(rawTableOf(name));
  const columns = 'sku, name, price_cents, currency, on_hand, reserved, available, version, position';
  const measured = "sku NOT LIKE '%-fill-%'";
  const { rows } = await pool.query<{ projected: string; raw: string; differing: string }>(
    `WITH p AS (SELECT ${columns} FROM ${projected} WHERE ${measured}), r AS (SELECT ${columns} FROM ${raw} WHERE ${measured})
     SELECT (SELECT count(*) FROM p) AS projected, (SELECT count(*) FROM r) AS raw,
       (SELECT count(*) FROM ((SELECT * FROM p EXCEPT SELECT * FROM r) UNION ALL (SELECT * FROM r EXCEPT SELECT * FROM p)) AS d) AS differing`,
  );
  const { projected: a, raw: b, differing } = rows[0];
  if (Number(a) !== products || Number(b) !== products || Number(differing) !== 0) {
    throw new Error(`the read models differ: ${a} projected products, ${b} raw ones, ${differing} rows not in both`);
  }
}
