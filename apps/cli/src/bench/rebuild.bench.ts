import { randomBytes, randomUUID } from 'node:crypto';
import { Pool, type Client } from 'pg';
import { uuidV7Ids, WrongExpectedVersion, type EventStore, type EventToAppend, type RecordedEvent } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import { productsProjection, type InventoryEvent } from '@tidings/inventory';
import { consumerGroupOf, migrate, quoteIdentifier, rebuildProjection, type Projection } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { compared, median, timeWorkers, type BenchResult } from './bench-result';

const ROUNDS = 3;
/** rebuildProjection's own default page size; the baseline reads pages of the same size. */
const PAGE_SIZE = 5_000;

/** QUALITY.md: 200k inventory events → a fresh products/stock read model, against a raw `readAll` of the same events. */
export const INVENTORY_DATASET = { products: 5_000, eventsPerProduct: 40, seed: 20_251_120 } as const;

/**
 * Times `rebuildProjection` of the products read model over the 200k-event inventory dataset
 * (created once in the store, reused by later runs) against a loop of `readAll` pages of the
 * same size over the same events that writes nothing. Each round rebuilds a projection of its
 * own (the products projection under another name, so its tables, views and checkpoints are
 * the bench's and nobody else's); they are dropped afterwards.
 */
export async function benchRebuild(settings: Settings): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const run = randomBytes(3).toString('hex');
  const store = openEventStore(settings);
  const pool = new Pool({ connectionString: settings.databaseUrl });
  pool.on('error', () => undefined);
  const projections: Projection[] = [];
  try {
    const dataset = await ensureInventoryDataset(store, INVENTORY_DATASET);
    // Only the dataset: whatever else this database's `$all` holds (other benchmarks' events) stays out of both paths.
    const events = datasetStore(store, dataset);
    const rawRates: number[] = [];
    const rebuildRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = async () => {
        const progress = startProgress(`rebuild baseline ${round}/${ROUNDS}`, dataset.events);
        const started = process.hrtime.bigint();
        const read = await readEverything(events, dataset.from, progress.advance);
        const seconds = elapsed(started);
        progress.stop();
        if (read !== dataset.events) throw new Error(`the baseline read ${read} events of the dataset's ${dataset.events}`);
        rawRates.push(read / seconds);
      };
      const rebuild = async () => {
        const projection = benchProductsProjection(`bench_${run}_r${round}`);
        projections.push(projection);
        const progress = startProgress(`rebuild projection ${round}/${ROUNDS}`, dataset.events);
        let reported = 0;
        const started = process.hrtime.bigint();
        const report = await rebuildProjection({
          pool,
          databaseUrl: settings.databaseUrl,
          store: events,
          projection,
          partitions: settings.partitions,
          pageSize: PAGE_SIZE,
          onProgress: ({ events: done }) => {
            progress.advance(done - reported);
            reported = done;
          },
        });
        const seconds = elapsed(started);
        progress.stop();
        if (report.events !== dataset.events) throw new Error(`the rebuild read ${report.events} events of the dataset's ${dataset.events}`);
        const { rows } = await pool.query<{ products: string }>(`SELECT count(*) AS products FROM ${quoteIdentifier(viewOf(projection))}`);
        if (Number(rows[0].products) !== INVENTORY_DATASET.products) {
          throw new Error(`the rebuilt read model has ${rows[0].products} products, not ${INVENTORY_DATASET.products}`);
        }
        rebuildRates.push(report.events / seconds);
        await dropBenchProjection(pool, projection);
      };
      // Alternating order: whatever one phase leaves behind (autovacuum, dirty pages) falls on both.
      for (const phase of round % 2 ? [raw, rebuild] : [rebuild, raw]) await phase();
    }
    return compared('rebuild', 'events_per_s', median(rebuildRates), 'raw_read_all', median(rawRates));
  } finally {
    for (const projection of projections) await dropBenchProjection(pool, projection).catch(() => undefined);
    await pool.end();
    await store.close();
  }
}

async function readEverything(store: EventStore, from: bigint, advance: (by: number) => void): Promise<number> {
  let position = from;
  let read = 0;
  for (;;) {
    const page = await store.readAll({ fromPosition: position, limit: PAGE_SIZE });
    if (page.length === 0) return read;
    read += page.length;
    advance(page.length);
    position = page[page.length - 1].position;
    if (page.length < PAGE_SIZE) return read;
  }
}

const elapsed = (started: bigint): number => Number(process.hrtime.bigint() - started) / 1e9;

// ---------------------------------------------------------------------------------------------
// Shared by the relay, project and rebuild benchmarks: realistic inventory histories, the
// dataset of them kept in the store, and the products projection under a bench-only name.

/** An inventory event on its way into the store, with the stream and version it belongs at. */
export type InventoryHistoryEvent = EventToAppend<InventoryEvent> & Readonly<{ streamId: string; streamVersion: number }>;

/**
 * `products` product streams of `eventsPerProduct` events each — registered, then stock
 * received, reserved, released, committed and the odd rejected reservation, always consistent
 * (never more reserved than on hand) — interleaved at random across products as live traffic
 * would be, each stream in its own order. The same seed gives the same history; ids are fresh.
 */
export function inventoryHistory(products: number, eventsPerProduct: number, seed: number, skuPrefix: string): InventoryHistoryEvent[] {
  const random = mulberry32(seed);
  const histories = Array.from({ length: products }, (_, n) => productHistory(`${skuPrefix}-${n}`, n, eventsPerProduct, random));
  const turns = Array.from({ length: products * eventsPerProduct }, (_, i) => i % products);
  for (let i = turns.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [turns[i], turns[j]] = [turns[j], turns[i]];
  }
  const next = new Array<number>(products).fill(0);
  return turns.map((product) => {
    const streamVersion = next[product]++;
    const event = histories[product][streamVersion];
    return {
      ...event,
      eventId: uuidV7Ids.next(),
      streamId: `product-${event.data.sku}`,
      streamVersion,
      metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'bench', schemaVersion: 1 },
    };
  });
}

function productHistory(sku: string, n: number, count: number, random: () => number): InventoryEvent[] {
  const events: InventoryEvent[] = [
    { type: 'ProductRegistered', data: { sku, name: `Bench product ${n}`, priceCents: 199 + ((n * 7_919) % 20_000), currency: 'EUR' } },
  ];
  let onHand = 0;
  let reserved = 0;
  const open: { reservationId: string; quantity: number }[] = [];
  while (events.length < count) {
    const roll = random();
    if (onHand - reserved < 2 || roll < 0.12) {
      const quantity = 20 + Math.floor(random() * 80);
      onHand += quantity;
      events.push({ type: 'StockReceived', data: { sku, quantity } });
    } else if (open.length > 0 && roll < 0.5) {
      const { reservationId, quantity } = open.shift() as { reservationId: string; quantity: number };
      reserved -= quantity;
      if (random() < 0.7) {
        onHand -= quantity;
        events.push({ type: 'StockCommitted', data: { sku, reservationId, quantity } });
      } else {
        events.push({ type: 'StockReleased', data: { sku, reservationId, quantity } });
      }
    } else {
      const reservationId = randomUUID();
      const quantity = 1 + Math.floor(random() * 8);
      if (quantity <= onHand - reserved) {
        reserved += quantity;
        open.push({ reservationId, quantity });
        events.push({ type: 'StockReserved', data: { sku, reservationId, quantity } });
      } else {
        events.push({ type: 'StockReservationRejected', data: { sku, reservationId, quantity, available: onHand - reserved } });
      }
    }
  }
  return events;
}

/** A small seeded PRNG: benchmark data is the same from run to run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Where the inventory dataset sits in `$all`: the events after `from` up to `to`, inclusive. */
export type InventoryDataset = Readonly<{ from: bigint; to: bigint; events: number }>;

type DatasetSpec = Readonly<{ products: number; eventsPerProduct: number; seed: number }>;

const WRITERS = 128;

/**
 * The inventory dataset in the store, appended once (one event per append with its exact
 * expected version, as commands do, by concurrent writers so group commit batches them) and
 * found again by later runs through a marker stream. An interrupted creation leaves events
 * behind but no marker: the next run creates a dataset of its own, with other SKUs.
 */
export async function ensureInventoryDataset(store: EventStore, spec: DatasetSpec): Promise<InventoryDataset> {
  const marker = `benchdataset-inventory-${spec.products}x${spec.eventsPerProduct}-s${spec.seed}`;
  const found = await readMarker(store, marker);
  if (found) return found;
  const history = inventoryHistory(spec.products, spec.eventsPerProduct, spec.seed, `bench-${randomBytes(3).toString('hex')}`);
  // Each writer owns whole streams, so a stream's events go in one after the other.
  const lists: InventoryHistoryEvent[][] = Array.from({ length: WRITERS }, () => []);
  for (const event of history) lists[Number.parseInt(event.data.sku.slice(event.data.sku.lastIndexOf('-') + 1), 10) % WRITERS].push(event);
  const progress = startProgress('creating the inventory dataset (once per database)', history.length);
  let first: bigint | undefined;
  let last = 0n;
  await timeWorkers(lists, async ({ streamId, streamVersion, eventId, type, data, metadata }) => {
    const { position } = await store.append(streamId, [{ eventId, type, data, metadata }], {
      expectedVersion: streamVersion === 0 ? 'no_stream' : streamVersion - 1,
    });
    if (first === undefined || position < first) first = position;
    if (position > last) last = position;
    progress.advance();
  });
  progress.stop();
  const dataset: InventoryDataset = { from: (first ?? 1n) - 1n, to: last, events: history.length };
  // Other writers' events between `from` and `to` would be read too: count what the range holds.
  const counted = await readEverything(datasetStore(store, dataset), dataset.from, () => undefined);
  const recorded = { ...dataset, events: counted };
  try {
    await store.append(
      marker,
      [
        {
          eventId: uuidV7Ids.next(),
          type: 'BenchDatasetCreated',
          data: { from: recorded.from.toString(), to: recorded.to.toString(), events: recorded.events },
          metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'bench', schemaVersion: 1 },
        },
      ],
      { expectedVersion: 'no_stream' },
    );
  } catch (error) {
    // Another run created one at the same time: use theirs.
    if (!(error instanceof WrongExpectedVersion)) throw error;
    return (await readMarker(store, marker)) ?? recorded;
  }
  return recorded;
}

async function readMarker(store: EventStore, marker: string): Promise<InventoryDataset | undefined> {
  const [created] = await store.readStream(marker);
  if (!created) return undefined;
  const data = created.data as { from: string; to: string; events: number };
  return { from: BigInt(data.from), to: BigInt(data.to), events: data.events };
}

/** The store as a reader of the dataset's range of `$all` sees it: nothing before, nothing after. */
export function datasetStore(store: EventStore, dataset: InventoryDataset): EventStore {
  return {
    append: () => Promise.reject(new Error('the benchmark dataset is read-only')),
    readStream: (streamId, options) => store.readStream(streamId, options),
    async readAll({ fromPosition = 0n, limit }) {
      const start = fromPosition < dataset.from ? dataset.from : fromPosition;
      if (start >= dataset.to) return [];
      const page = await store.readAll({ fromPosition: start, limit });
      const end = page.findIndex((event) => event.position > dataset.to);
      return end < 0 ? page : page.slice(0, end);
    },
    subscribeToAll: () => {
      throw new Error('the benchmark dataset cannot be followed');
    },
    headPosition: async () => dataset.to,
    close: async () => undefined,
  };
}

/** Reads `count` events of `$all` after `from` into memory (not timed). */
export async function readEvents(store: EventStore, from: bigint, count: number, label: string): Promise<RecordedEvent[]> {
  const progress = startProgress(label, count);
  const events: RecordedEvent[] = [];
  let position = from;
  while (events.length < count) {
    const page = await store.readAll({ fromPosition: position, limit: Math.min(PAGE_SIZE, count - events.length) });
    if (page.length === 0) break;
    events.push(...page);
    progress.advance(page.length);
    position = page[page.length - 1].position;
  }
  progress.stop();
  if (events.length < count) throw new Error(`the store holds ${events.length} events after position ${from}, not ${count}`);
  return events;
}

/**
 * The products projection under a name of its own (`bench_x_r1`): the same apply, DDL and
 * categories, but its consumer group, registry row, tables (`bench_x_r1_products_v1`) and view
 * are the bench's, so the database's real `products` read model is never touched.
 */
export function benchProductsProjection(name: string): Projection {
  const view = `${name}_products`;
  return {
    name,
    categories: productsProjection.categories,
    ...(productsProjection.policy ? { policy: productsProjection.policy } : {}),
    tables: { [view]: productsProjection.tables.products },
    apply: (db, events, tables) => productsProjection.apply(db, events, { products: tables[view] }),
  };
}

export const viewOf = (projection: Projection): string => Object.keys(projection.tables)[0];

/** Drops what a bench projection left: view, versioned tables, registry row, checkpoints, leases, dead letters. */
export async function dropBenchProjection(db: Pool | Client, projection: Projection): Promise<void> {
  const view = viewOf(projection);
  const group = consumerGroupOf(projection);
  await db.query(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
  const { rows } = await db.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)', [
    `${view}_v`,
  ]);
  for (const { tablename } of rows) await db.query(`DROP TABLE IF EXISTS ${quoteIdentifier(tablename)}`);
  await db.query('DELETE FROM projections WHERE name = $1', [projection.name]);
  for (const table of ['checkpoints', 'dead_letters', 'consumer_leases', 'consumer_members']) {
    await db.query(`DELETE FROM ${table} WHERE consumer_group = $1`, [group]);
  }
}
