import type { Pool } from 'pg';
import { uuidV7Ids, type EventStore, type EventToAppend, type RecordedEvent } from '@tidings/core';
import { evolveProductRow, productStreamId, productsProjection, type InventoryEvent, type ProductRow } from '@tidings/inventory';
import { PartitionLeases, partitionOf, type Lease } from '@tidings/messaging';
import { eventually, useTestEventStore } from '@tidings/testing';
import { failingProjection, recordedRows } from './failing-projection.fixture';
import { consumerGroupOf, type Projection } from './projection';
import { ProjectionConsumer } from './projection-consumer';
import { currentVersion, ensureProjection } from './projection-registry';
import { projectionStatuses } from './projection-status';
import { connectClient } from './database';
import { describeRebuildFailure, REBUILD_LOCK_CLASS, RebuildAlreadyRunning, RebuildInterrupted, rebuildProjection, type RebuildProgress } from './rebuild';

const PARTITIONS = 4;
const PRODUCTS = 60;
const EVENTS_PER_PRODUCT = 50;
const group = consumerGroupOf(productsProjection);

const toAppend = (event: { type: string; data: unknown }): EventToAppend => ({
  ...event,
  eventId: uuidV7Ids.next(),
  metadata: { correlationId: uuidV7Ids.next(), causationId: uuidV7Ids.next(), actor: 'spec', schemaVersion: 1 },
});

/**
 * Appends one event and returns it once readers of `$all` see it: only then could the relay have
 * published it. (`$all` is gap-safe: an event stays hidden while any older transaction on the
 * server is still open.)
 */
async function appendSettled(store: EventStore, streamId: string, event: { type: string; data: unknown }): Promise<RecordedEvent> {
  const { position } = await store.append(streamId, [toAppend(event)], { expectedVersion: 'any' });
  return eventually(async () => {
    const [recorded] = await store.readAll({ fromPosition: position - 1n, limit: 1 });
    expect(recorded?.position).toBe(position);
    return recorded;
  });
}

/** Every event of `$all`, once there are `count` of them. */
const settledEvents = (store: EventStore, count: number): Promise<RecordedEvent[]> =>
  eventually(async () => {
    const events = await readEverything(store);
    expect(events).toHaveLength(count);
    return events;
  });

/** A valid history of one product: registered, then stock received, reserved, released and committed. */
function productHistory(sku: string, length: number): InventoryEvent[] {
  const history: InventoryEvent[] = [{ type: 'ProductRegistered', data: { sku, name: `Product ${sku}`, priceCents: 250, currency: 'EUR' } }];
  const open: { reservationId: string; quantity: number }[] = [];
  let available = 0;
  for (let step = 1; history.length < length; step++) {
    const quantity = 1 + (step % 3);
    if (step % 4 === 1 || (step % 4 === 2 && available < quantity)) {
      history.push({ type: 'StockReceived', data: { sku, quantity: 4 } });
      available += 4;
    } else if (step % 4 === 2) {
      const reservation = { reservationId: `r-${step}`, quantity };
      history.push({ type: 'StockReserved', data: { sku, ...reservation } });
      open.push(reservation);
      available -= quantity;
    } else if (open.length) {
      const reservation = open.shift() as { reservationId: string; quantity: number };
      history.push({ type: step % 4 === 3 ? 'StockReleased' : 'StockCommitted', data: { sku, ...reservation } });
      if (step % 4 === 3) available += reservation.quantity;
    }
  }
  return history;
}

/** Every product's history, appended by all products at once in chunks of 1–5 events, so streams interleave in `$all`. */
async function appendInventory(store: EventStore): Promise<void> {
  await Promise.all(
    Array.from({ length: PRODUCTS }, async (_, index) => {
      const streamId = productStreamId(`sku-${index}`);
      const history = productHistory(`sku-${index}`, EVENTS_PER_PRODUCT);
      for (let start = 0, chunk = index; start < history.length; chunk++) {
        const size = 1 + (chunk % 5);
        await store.append(streamId, history.slice(start, start + size).map(toAppend), { expectedVersion: start === 0 ? 'no_stream' : start - 1 });
        start += size;
      }
    }),
  );
}

async function readEverything(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({ fromPosition: events[events.length - 1]?.position ?? 0n, limit: 2_000 });
    if (page.length === 0) return events;
    events.push(...page);
  }
}

/** The products read model as it must be: the fold of the events. */
function foldProducts(events: readonly RecordedEvent[]): ProductRow[] {
  const rows = new Map<string, ProductRow>();
  for (const event of events) {
    if (!event.streamId.startsWith('product-')) continue;
    const inventoryEvent = event as RecordedEvent<InventoryEvent>;
    const row = evolveProductRow(rows.get(inventoryEvent.data.sku), inventoryEvent);
    if (row) rows.set(row.sku, row);
  }
  return [...rows.values()].sort((a, b) => (a.sku < b.sku ? -1 : 1));
}

async function readProducts(pool: Pool, relation = 'products'): Promise<ProductRow[]> {
  const { rows } = await pool.query(`SELECT * FROM ${relation} ORDER BY sku COLLATE "C"`);
  return rows.map((row) => ({
    sku: row.sku,
    name: row.name,
    priceCents: Number(row.price_cents),
    currency: row.currency,
    onHand: row.on_hand,
    reserved: row.reserved,
    available: row.available,
    version: row.version,
    position: BigInt(row.position),
  }));
}

async function checkpoints(pool: Pool, consumerGroup: string): Promise<bigint[]> {
  const { rows } = await pool.query<{ position: string }>('SELECT position FROM checkpoints WHERE consumer_group = $1 ORDER BY partition', [
    consumerGroup,
  ]);
  return rows.map((row) => BigInt(row.position));
}

const exists = async (pool: Pool, relation: string): Promise<boolean> =>
  (await pool.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [relation])).rows[0].oid !== null;

async function leaseAll(pool: Pool, consumerGroup: string, partitions: number): Promise<Lease[]> {
  const member = `member-${uuidV7Ids.next()}`;
  const held = await new PartitionLeases(pool, consumerGroup, member, partitions, 10 * 60_000).balance();
  expect(held).toEqual(Array.from({ length: partitions }, (_, partition) => partition));
  return held.map((partition) => ({ group: consumerGroup, partition, member }));
}

/** Hands the events to the consumer as the runtime would: per partition, in batches. */
async function project(consumer: ProjectionConsumer, leases: readonly Lease[], events: readonly RecordedEvent[], batchSize = 200): Promise<void> {
  for (const lease of leases) {
    const mine = events.filter((event) => partitionOf(event.streamId, leases.length) === lease.partition);
    for (let start = 0; start < mine.length; start += batchSize) {
      expect(await consumer.handle({ lease, events: mine.slice(start, start + batchSize) })).toBe('applied');
    }
  }
}

describe('rebuildProjection', () => {
  const given = useTestEventStore();
  const { pool } = given;
  let leases: Lease[];
  let consumer: ProjectionConsumer;
  const rebuild = (projection: Projection, onProgress?: (progress: RebuildProgress) => void, partitions = PARTITIONS) =>
    rebuildProjection({ pool, databaseUrl: given.database.url, store: given.store, projection, partitions, pageSize: 250, onProgress });

  beforeAll(async () => {
    await appendInventory(given.store);
    await ensureProjection(pool, productsProjection);
    leases = await leaseAll(pool, group, PARTITIONS);
    consumer = new ProjectionConsumer(pool, productsProjection);
  });

  it('builds version 2 from $all while version 1 keeps answering and being written, then switches readers and checkpoints together', async () => {
    const stored = await settledEvents(given.store, PRODUCTS * EVENTS_PER_PRODUCT);
    const live = stored.slice(0, stored.length / 2);
    await project(consumer, leases, live);
    expect(foldProducts(live)).toHaveLength(PRODUCTS);
    expect(await readProducts(pool)).toEqual(foldProducts(live));

    // An event of another category: read with the rest, neither applied nor counted.
    await appendSettled(given.store, 'video-elsewhere', { type: 'VideoViewed', data: { videoId: 'elsewhere', at: '2026-01-01T00:00:00.000Z' } });
    const progress: RebuildProgress[] = [];
    const answers: Promise<number>[] = [];
    let lateWrite: Promise<void> | undefined;
    // While the rebuild runs, a new product is registered and applied live to version 1; the rebuild's next page waits for that.
    const rebuilding: Projection = {
      ...productsProjection,
      async apply(db, events, tables) {
        await lateWrite;
        return productsProjection.apply(db, events, tables);
      },
    };
    const registerLateProduct = async () => {
      const registered = { type: 'ProductRegistered', data: { sku: 'sku-late', name: 'Late', priceCents: 990, currency: 'EUR' } };
      const late = await appendSettled(given.store, productStreamId('sku-late'), registered);
      expect(await consumer.handle({ lease: leases[partitionOf(late.streamId, PARTITIONS)], events: [late] })).toBe('applied');
      const { rows } = await pool.query("SELECT sku, on_hand, position FROM products WHERE sku = 'sku-late'");
      expect(rows).toEqual([{ sku: 'sku-late', on_hand: 0, position: late.position.toString() }]);
      const [during] = await projectionStatuses(pool, given.store, [productsProjection]);
      expect(during).toMatchObject({ version: 1, status: 'rebuilding' });
    };

    const report = await rebuild(rebuilding, (step) => {
      progress.push(step);
      answers.push(pool.query<{ n: number }>('SELECT count(*)::int AS n FROM products').then(({ rows }) => rows[0].n));
      lateWrite ??= registerLateProduct();
    });
    await lateWrite;

    const everything = await settledEvents(given.store, PRODUCTS * EVENTS_PER_PRODUCT + 2);
    const head = everything[everything.length - 1].position;
    const products = everything.filter((event) => event.streamId.startsWith('product-')).length;
    expect(products).toBe(everything.length - 1);
    expect(report).toMatchObject({ name: 'products', version: 2, position: head, events: products });
    expect(progress.length).toBeGreaterThan(5);
    expect(progress[progress.length - 1]).toEqual({ position: head, head, events: products });
    // Every query during the rebuild was answered: by version 1 (before or after the late product) or, after the switch, by version 2.
    const answered = await Promise.all(answers);
    expect(answered.filter((n) => n !== PRODUCTS && n !== PRODUCTS + 1)).toEqual([]);
    expect(answered[answered.length - 1]).toBe(PRODUCTS + 1);
    expect(await exists(pool, 'products_v1')).toBe(false);
    expect(await exists(pool, 'products_v2')).toBe(true);
    expect(await readProducts(pool)).toEqual(foldProducts(everything));
    expect(await checkpoints(pool, group)).toEqual(leases.map(() => head));
    const [status] = await projectionStatuses(pool, given.store, [productsProjection]);
    expect(status).toMatchObject({ version: 2, status: 'running', position: head, lag: 0n, deadLetters: 0 });

    // Redelivered messages that the rebuild already covers change nothing; a new event goes into version 2.
    const before = await readProducts(pool);
    await project(consumer, leases, everything.slice(-400), 50);
    expect(await readProducts(pool)).toEqual(before);
    expect(await checkpoints(pool, group)).toEqual(leases.map(() => head));

    const received = await appendSettled(given.store, productStreamId('sku-3'), { type: 'StockReceived', data: { sku: 'sku-3', quantity: 5 } });
    const partition = partitionOf(received.streamId, PARTITIONS);
    const redelivered = everything.filter((event) => partitionOf(event.streamId, PARTITIONS) === partition).slice(-3);
    expect(await consumer.handle({ lease: leases[partition], events: [...redelivered, received] })).toBe('applied');
    const sku3 = before.find((row) => row.sku === 'sku-3') as ProductRow;
    expect((await readProducts(pool, 'products_v2')).find((row) => row.sku === 'sku-3')).toEqual({
      ...sku3,
      onHand: sku3.onHand + 5,
      available: sku3.available + 5,
      version: EVENTS_PER_PRODUCT,
      position: received.position,
    });
    expect(await readProducts(pool)).toEqual(foldProducts([...everything, received]));
    expect(await checkpoints(pool, group)).toEqual(leases.map((lease) => (lease.partition === partition ? received.position : head)));
  });

  it('refuses a second rebuild of the same projection while one is running', async () => {
    let second: Promise<unknown> | undefined;
    // The running rebuild's next page waits until the second one has been answered.
    const waitsForSecond: Projection = {
      ...productsProjection,
      async apply(db, events, tables) {
        await second?.catch(() => undefined);
        return productsProjection.apply(db, events, tables);
      },
    };
    const first = rebuild(waitsForSecond, () => {
      second ??= rebuild(productsProjection);
    });

    await expect(first).resolves.toMatchObject({ name: 'products', version: 3 });
    expect(second).toBeDefined();
    await expect(second).rejects.toBeInstanceOf(RebuildAlreadyRunning);
    expect(await currentVersion(pool, 'products')).toBe(3);
    expect(await exists(pool, 'products_v2')).toBe(false);
    expect(await readProducts(pool)).toEqual(foldProducts(await settledEvents(given.store, PRODUCTS * EVENTS_PER_PRODUCT + 3)));
  });

  it('leaves version 1 answering, and being written, when the rebuild fails', async () => {
    const projection = failingProjection('gadgets_rebuilt', 'block', 'rebuilt');
    projection.poisonous = false;
    await ensureProjection(pool, projection);
    const [lease] = await leaseAll(pool, consumerGroupOf(projection), 1);
    const gadgets = new ProjectionConsumer(pool, projection);
    const append = (data: object) => appendSettled(given.store, 'rebuilt-1', { type: 'GadgetChanged', data });
    const history = [await append({ n: 0 }), await append({ n: 1, poison: true }), await append({ n: 2 })];
    expect(await gadgets.handle({ lease, events: history })).toBe('applied');
    const applied = history.map((event) => event.position);

    // The data condition changed since: the rebuild meets an event it cannot apply.
    projection.poisonous = true;
    // It says which event, for the operator to look at before deploying the fix.
    const poison = history[1];
    const why = `gadgets_rebuilt cannot apply GadgetChanged ${poison.eventId} (stream rebuilt-1, version 1, position ${poison.position}): rebuilt-1@1 is poison`;
    await expect(rebuild(projection, undefined, 1)).rejects.toThrow(why);

    expect(await currentVersion(pool, projection.name)).toBe(1);
    expect(await exists(pool, `${projection.view}_v2`)).toBe(false);
    expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual(applied);
    // Operators see why, until the next rebuild.
    const [status] = await projectionStatuses(pool, given.store, [projection]);
    expect(status).toMatchObject({ version: 1, status: 'running', position: history[2].position, lastRebuildFailure: { version: 2, reason: why, at: expect.any(String) } });
    expect(describeRebuildFailure(status.lastRebuildFailure!)).toMatch(/^the rebuild to version 2 failed at .*: .*rebuilt-1@1 is poison/);

    const later = await append({ n: 3 });
    expect(await gadgets.handle({ lease, events: [...history, later] })).toBe('applied');
    expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([...applied, later.position]);

    // Fixed, the same rebuild goes through: the failed one left no lock or half-built tables behind.
    projection.poisonous = false;
    await expect(rebuild(projection, undefined, 1)).resolves.toMatchObject({ version: 2, position: later.position });
    expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([...applied, later.position]);
    expect(await exists(pool, `${projection.view}_v1`)).toBe(false);
    expect((await projectionStatuses(pool, given.store, [projection]))[0].lastRebuildFailure).toBeUndefined();
  });

  it('names the event it cannot apply in a page written before the switch, too', async () => {
    const projection = failingProjection('gadgets_paged', 'block', 'paged');
    await ensureProjection(pool, projection);
    const poison = await appendSettled(given.store, 'paged-1', { type: 'GadgetChanged', data: { poison: true } });
    // More than the last 1,000 events, which the rebuild writes in its switching transaction, come after it.
    await given.store.append('paged-2', Array.from({ length: 1_100 }, (_, n) => toAppend({ type: 'GadgetChanged', data: { n } })), { expectedVersion: 'no_stream' });
    await appendSettled(given.store, 'paged-2', { type: 'GadgetChanged', data: { n: 1_100 } });

    await expect(rebuild(projection, undefined, 1)).rejects.toThrow(
      `gadgets_paged cannot apply GadgetChanged ${poison.eventId} (stream paged-1, version 0, position ${poison.position}): paged-1@0 is poison`,
    );
    expect(await exists(pool, `${projection.view}_v2`)).toBe(false);
  });

  it('stops between pages when interrupted, leaving the live version; a rebuild whose process died is told from one running', async () => {
    const live = (await currentVersion(pool, 'products')) as number;
    // Aborted at its first page: the store holds more than a page (pageSize 250), so there is a next one to stop before.
    const interrupt = new AbortController();
    const interrupted = rebuildProjection({ pool, databaseUrl: given.database.url, store: given.store, projection: productsProjection, partitions: PARTITIONS, pageSize: 250, signal: interrupt.signal, onProgress: () => interrupt.abort() });
    await expect(interrupted).rejects.toBeInstanceOf(RebuildInterrupted);
    expect(await currentVersion(pool, 'products')).toBe(live);
    expect(await exists(pool, `products_v${live + 1}`)).toBe(false);
    expect((await projectionStatuses(pool, given.store, [productsProjection]))[0]).toMatchObject({
      status: 'running',
      lastRebuildFailure: { version: live + 1, reason: 'the rebuild of products was interrupted' },
    });

    // A rebuild killed -9 leaves its status behind, but not its lock: PostgreSQL frees it with the connection.
    const rebuilder = await connectClient(given.database.url, 'spec-rebuilder');
    await rebuilder.query('SELECT pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK_CLASS, 'products']);
    await pool.query("UPDATE projections SET status = 'rebuilding', rebuilding = $2 WHERE name = $1", ['products', { version: live + 1, head: '1' }]);
    expect((await projectionStatuses(pool, given.store, [productsProjection]))[0].status).toBe('rebuilding');
    await rebuilder.end();
    // A rebuild of a projection of the same name in another database of the server is another's.
    const elsewhere = new URL(given.database.url);
    elsewhere.pathname = '/postgres';
    const otherRebuilder = await connectClient(elsewhere.toString(), 'spec-other-rebuilder');
    try {
      await otherRebuilder.query('SELECT pg_advisory_lock($1, hashtext($2))', [REBUILD_LOCK_CLASS, 'products']);
      expect((await projectionStatuses(pool, given.store, [productsProjection]))[0]).toMatchObject({
        status: 'running',
        lastRebuildFailure: { version: live + 1, reason: expect.stringMatching(/^interrupted: the process that started it at .* ended before it finished$/) },
      });
    } finally {
      await otherRebuilder.end();
    }
    // The next rebuild starts over.
    await expect(rebuild(productsProjection)).resolves.toMatchObject({ version: live + 1 });
    expect((await projectionStatuses(pool, given.store, [productsProjection]))[0]).toMatchObject({ status: 'running', version: live + 1 });
  });

  it('keeps a checkpoint per partition it was given: those beyond a smaller TIDINGS_PARTITIONS go, unless live members hold them', async () => {
    const head = await given.store.headPosition();
    await expect(rebuild(productsProjection)).resolves.toMatchObject({ position: head });
    expect(await checkpoints(pool, group)).toEqual(Array.from({ length: PARTITIONS }, () => head));
    // The members of beforeAll hold all four: a rebuild given two (an operator's shell without the deployment's value) is refused, changing nothing.
    const live = await currentVersion(pool, 'products');
    await expect(rebuild(productsProjection, undefined, PARTITIONS / 2)).rejects.toThrow(/live members of projection\.products hold partitions up to 3, beyond the 2/);
    expect(await currentVersion(pool, 'products')).toBe(live);
    expect(await checkpoints(pool, group)).toEqual(Array.from({ length: PARTITIONS }, () => head));
    // Its projectors stopped (their leases lapsed), the deployment changes to two.
    await pool.query('UPDATE consumer_leases SET expires_at = now() WHERE consumer_group = $1', [group]);
    for (const partitions of [PARTITIONS / 2, PARTITIONS]) {
      await expect(rebuild(productsProjection, undefined, partitions)).resolves.toMatchObject({ position: head });
      expect(await checkpoints(pool, group)).toEqual(Array.from({ length: partitions }, () => head));
    }
  });

  it('switches views without a deadlock while a reader holding one of them waits for another', async () => {
    const pairs: Projection = {
      name: 'pairs',
      categories: ['pair'],
      policy: 'block',
      tables: { pairs_left: (table) => `CREATE TABLE ${table} (n int)`, pairs_right: (table) => `CREATE TABLE ${table} (n int)` },
      apply: async () => undefined,
    };
    await ensureProjection(pool, pairs);
    const reader = await connectClient(given.database.url, 'spec-reader');
    try {
      // A reader of both views (as a feed page is) holds the second; the switch takes the first, then waits for the second.
      await reader.query('BEGIN');
      await reader.query('SELECT * FROM pairs_right');
      const rebuilt = rebuild(pairs);
      await eventually(
        async () => {
          const { rowCount } = await pool.query("SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'pairs_right' AND NOT l.granted");
          expect(rowCount).toBeGreaterThan(0);
        },
        { timeoutMs: 10_000, intervalMs: 2 },
      );
      // The reader now wants the first: the switch lets go of it rather than deadlock, and both go through.
      await expect(reader.query('SELECT * FROM pairs_left')).resolves.toMatchObject({ rowCount: 0 });
      await reader.query('COMMIT');
      await expect(rebuilt).resolves.toMatchObject({ name: 'pairs', version: 2 });
    } finally {
      await reader.end();
    }
  });
});
