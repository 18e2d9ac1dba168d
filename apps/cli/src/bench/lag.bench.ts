import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'pg';
import { categoryOf, categorySubjects, connectNats, eventTopology, groupPartitionOf, POSITION_HEADER, type EventTopology, type NatsAddress } from '@tidings/messaging';
import { orderStreamId, ordersProjection } from '@tidings/orders';
import { consumerGroupOf, migrate } from '@tidings/read-models';
import { parseRoles, type Settings } from '@tidings/settings';
import { startProgress, type Progress } from '../progress';
import { startBenchApi } from './bench-api';
import { percentile, type BenchResult } from './bench-result';
import { atFixedRate, requestJson } from './load-generator';
import { watchMachineLoad } from './machine-load';

/** QUALITY.md `lag`: orders placed over HTTP at a fixed 200/s for 20 s. */
const RATE = 200;
const SECONDS = 20;
const WARM_UP_SECONDS = 3;
const PRODUCTS = 20;
/** How often the read model is looked at: the resolution of the figures. */
const LOOK_EVERY_MS = 2;
/** How often orders already visible are looked at for their confirmation: the resolution of the checkout figures. */
const CONFIRMATIONS_EVERY_MS = 100;
/**
 * After the last order is sent, checkouts may still be queued (on a small machine the sagas
 * complete fewer than 200 a second): the bench waits while orders keep being confirmed, and
 * gives up only when none has been for this long.
 */
const STALL_TIMEOUT_MS = 60_000;

/** Where the watcher looks for an order, and whether it waits for its checkout (a process runs the sagas role). */
type ReadModelWatch = Readonly<{ pool: Pool; partitionOfOrder: (orderId: string) => number; checkouts: boolean }>;

/**
 * An order's times (performance.now()), and where the read model shows it: the position of its
 * `OrderPlaced`. `publishedAt`: when JetStream stored that event, as the stream's message says.
 */
type Timing = { dueAt: number; position: bigint; answeredAt?: number; publishedAt?: number; visibleAt?: number; confirmedAt?: number };

/**
 * Places orders (tok_visa, one or two items) open-loop at a fixed rate against `tidings start`
 * with every role in one process, as `npm start` runs it (or the processes that
 * TIDINGS_BENCH_PROCESSES lists, space-separated, e.g. "api,relay,projector sagas"), and watches the orders read model in
 * PostgreSQL every 2 ms: command → order visible (p50/p99), and placed → confirmed, the whole
 * checkout saga (p50/p99). Times run from the moment each request was due. Where the time to
 * visible goes is shown by two stages on the way (p50): the command answered, and its event in
 * JetStream (the stream's own timestamps, read after the run). When no process runs the sagas
 * role, orders stay placed and only the time to visible is measured: the pipeline without
 * checkout's load on the machine.
 */
export async function benchLag(settings: Settings): Promise<BenchResult[]> {
  await migrate(settings.databaseUrl);
  const processes = (process.env.TIDINGS_BENCH_PROCESSES ?? 'api,relay,projector,sagas').split(' ');
  // Without the sagas role, orders stay placed: the bench then measures the pipeline alone, without checkout's load.
  const checkouts = processes.some((roles) => parseRoles(roles).includes('sagas'));
  if (!checkouts) process.stderr.write('lag: no process runs the sagas role; orders stay placed, and no checkout figures are taken\n');
  const api = await startBenchApi(settings, processes);
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 2 });
  try {
    const admin = await api.token('bench-lag-admin', ['admin']);
    const customer = await api.token('bench-lag', ['customer']);
    const run = randomBytes(3).toString('hex');
    const skus = Array.from({ length: PRODUCTS }, (_, index) => `bench-lag-${run}-${index}`);
    let head = '0';
    for (const sku of skus) {
      await requestJson(api.baseUrl, admin, 'POST', '/products', { sku, name: sku, priceCents: 1_000 });
      head = (await requestJson(api.baseUrl, admin, 'POST', `/products/${sku}/stock`, { quantity: 1_000_000 })).position as string;
    }
    // Whatever the database already holds is relayed and projected first: the figures are for a pipeline at head.
    await caughtUp(api.baseUrl, admin, head);
    const place = () => {
      const items = [skus[Math.floor(Math.random() * PRODUCTS)], skus[Math.floor(Math.random() * PRODUCTS)]];
      return requestJson(api.baseUrl, customer, 'POST', '/orders', { items: [...new Set(items)].map((sku) => ({ sku, quantity: 1 })), paymentToken: 'tok_visa', shippingCountry: 'NL' });
    };
    // The orders projection's partition that applies an order's events, where the watcher looks for it.
    const topology = eventTopology(settings.namespace, settings.partitions);
    const partitionOfOrder = (orderId: string) => groupPartitionOf(topology, ordersProjection.categories, orderStreamId(orderId)) as number;
    const readModel: ReadModelWatch = { pool, partitionOfOrder, checkouts };
    await measure(readModel, place, WARM_UP_SECONDS, 'lag warm-up');
    const { timings, load } = await measure(readModel, place, SECONDS, 'lag');
    await readPublishedTimes(settings, topology, timings);
    const since = (stage: keyof Timing) => timings.map((timing) => (timing[stage] as number) - timing.dueAt);
    const ms = (value: number) => Math.round(value * 10) / 10;
    const [visible, confirmed] = [since('visibleAt'), since('confirmedAt')];
    return [
      { workload: 'lag', metric: 'p50_ms', value: ms(percentile(visible, 50)) },
      { workload: 'lag', metric: 'p99_ms', value: ms(percentile(visible, 99)) },
      ...(checkouts
        ? [
            { workload: 'lag', metric: 'checkout_p50_ms', value: ms(percentile(confirmed, 50)) },
            { workload: 'lag', metric: 'checkout_p99_ms', value: ms(percentile(confirmed, 99)) },
          ]
        : []),
      { workload: 'lag', metric: 'answered_p50_ms', value: ms(percentile(since('answeredAt'), 50)) },
      { workload: 'lag', metric: 'published_p50_ms', value: ms(percentile(since('publishedAt'), 50)) },
      ...load,
    ];
  } finally {
    await pool.end();
    await api.stop();
  }
}

/**
 * Waits until the products and orders read models show `position` (read-your-writes: they
 * answer `?minPosition=` within 5 s, else 503), saying how long it has waited.
 */
async function caughtUp(baseUrl: string, admin: string, position: string): Promise<void> {
  const started = performance.now();
  for (const path of [`/products?limit=1&minPosition=${position}`, `/orders?limit=1&minPosition=${position}`]) {
    for (;;) {
      const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${admin}` } });
      if (response.ok) break;
      if (response.status !== 503) throw new Error(`GET ${path} answered ${response.status}`);
      if (performance.now() - started > 30 * 60_000) throw new Error('the read models did not catch up with the store within 30 minutes');
      process.stderr.write(`catching up with the store: ${path.split('?')[0]} not at ${position} yet after ${Math.round((performance.now() - started) / 1000)} s\n`);
    }
  }
}

/**
 * Places orders at the rate while the read model is watched, until every one is visible and
 * (with checkouts) confirmed; `load`: how busy the machine was while the orders went out.
 */
async function measure(readModel: ReadModelWatch, place: () => Promise<Record<string, unknown>>, seconds: number, label: string): Promise<{ timings: Timing[]; load: BenchResult[] }> {
  const orders = new Map<string, Timing>();
  /** Orders placed since the watcher last looked. */
  const placed: string[] = [];
  const placing = { done: false };
  const watching = watch(readModel, orders, placed, placing, `${label} checkouts`);
  const machine = watchMachineLoad();
  try {
    await atFixedRate(RATE, seconds, label, async (dueAt) => {
      const answer = await place();
      orders.set(answer.orderId as string, { dueAt, position: BigInt(answer.position as string), answeredAt: performance.now() });
      placed.push(answer.orderId as string);
    }, 'orders');
  } finally {
    placing.done = true;
  }
  const load = machine.result('lag');
  return { timings: await watching, load };
}

/**
 * Looks at the orders read model until every order placed is visible and (with `checkouts`)
 * confirmed; throws if one is cancelled, or if that stalls. Every 2 ms it reads the orders projection's
 * checkpoints (a row per partition): the read model commits an order's rows with its
 * partition's checkpoint, so an order is visible once that checkpoint has reached the position
 * `POST /orders` answered. Visible orders wait seconds for their checkout, so they are looked
 * up every 100 ms. A watcher that asked for every pending order 500 times a second would load
 * the database it measures, most of all when a backlog makes thousands pending.
 */
async function watch({ pool, partitionOfOrder, checkouts }: ReadModelWatch, orders: Map<string, Timing>, placed: string[], placing: { done: boolean }, label: string): Promise<Timing[]> {
  let lookedForConfirmations = 0;
  let lastProgressAt = performance.now();
  let confirming: Progress | undefined;
  let confirmed = 0;
  // Each order placed is first awaited in the checkpoints (by its partition), then in the orders table.
  const invisible = new Map<string, { position: bigint; partition: number }>();
  const visible = new Map<string, Timing>();
  for (;;) {
    for (const orderId of placed.splice(0)) invisible.set(orderId, { position: (orders.get(orderId) as Timing).position, partition: partitionOfOrder(orderId) });
    if (placing.done && invisible.size === 0 && visible.size === 0) break;
    if (placing.done && checkouts && !confirming) {
      confirming = startProgress(label, orders.size, 'orders');
      confirming.advance(confirmed);
    }
    if (placing.done && performance.now() - lastProgressAt > STALL_TIMEOUT_MS) {
      confirming?.stop();
      const awaited = checkouts ? 'confirmed' : 'visible';
      throw new Error(`${invisible.size + visible.size} orders were not ${awaited}: none was for ${STALL_TIMEOUT_MS / 1000} s`);
    }
    const { rows: checkpoints } = await pool.query<{ partition: number; position: string }>({
      name: 'bench_lag_checkpoints',
      text: 'SELECT partition, position FROM checkpoints WHERE consumer_group = $1',
      values: [consumerGroupOf(ordersProjection)],
    });
    const applied = new Map(checkpoints.map((row) => [row.partition, BigInt(row.position)]));
    const seenAt = performance.now();
    for (const [orderId, { position, partition }] of invisible) {
      if ((applied.get(partition) ?? -1n) < position) continue;
      invisible.delete(orderId);
      const timing = Object.assign(orders.get(orderId) as Timing, { visibleAt: seenAt });
      if (checkouts) visible.set(orderId, timing);
      else lastProgressAt = seenAt;
    }
    if (visible.size > 0 && performance.now() - lookedForConfirmations >= CONFIRMATIONS_EVERY_MS) {
      lookedForConfirmations = performance.now();
      // Planned per call: a plan cached while the table was small would scan the whole table at every look as it grows.
      const { rows } = await pool.query<{ order_id: string; status: string }>('SELECT order_id, status FROM orders WHERE order_id = ANY($1) AND status <> $2', [[...visible.keys()], 'placed']);
      const now = performance.now();
      for (const row of rows) {
        if (row.status === 'cancelled') throw new Error(`order ${row.order_id} was cancelled: the lag bench expects every checkout to succeed`);
        if (row.status !== 'confirmed') continue;
        (visible.get(row.order_id) as Timing).confirmedAt = now;
        visible.delete(row.order_id);
        lastProgressAt = now;
        confirmed++;
        confirming?.advance();
      }
    }
    await delay(LOOK_EVERY_MS);
  }
  confirming?.stop();
  return [...orders.values()];
}

/**
 * Sets each order's `publishedAt` from the JetStream message of its `OrderPlaced` (found by the
 * position header), read through an ordered consumer of the orders' subjects. The stream's
 * timestamps are the NATS server's clock, on this machine.
 */
async function readPublishedTimes(address: NatsAddress, topology: EventTopology, timings: readonly Timing[]): Promise<void> {
  const byPosition = new Map(timings.map((timing) => [timing.position.toString(), timing]));
  const nats = await connectNats(address, 'tidings-bench-lag');
  try {
    const consumer = await nats.jetstream().consumers.get(topology.stream, { filterSubjects: categorySubjects(topology, categoryOf(orderStreamId('any'))) });
    let missing = byPosition.size;
    while (missing > 0) {
      let received = 0;
      for await (const message of await consumer.fetch({ max_messages: 1_000, expires: 2_000 })) {
        received++;
        const timing = byPosition.get(message.headers?.get(POSITION_HEADER) ?? '');
        if (!timing || timing.publishedAt !== undefined) continue;
        timing.publishedAt = message.info.timestampNanos / 1e6 - performance.timeOrigin;
        missing--;
      }
      if (received === 0) throw new Error(`${missing} orders placed are not in the JetStream stream ${topology.stream}`);
    }
    await consumer.delete();
  } finally {
    await nats.close();
  }
}
