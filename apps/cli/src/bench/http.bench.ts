import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { migrate } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { startBenchApi, type BenchApi } from './bench-api';
import { compared, median, type BenchResult } from './bench-result';

const ROUNDS = 3;
const SECONDS = 10;
const WARM_UP_SECONDS = 3;
/** Connections held open by the load generator: enough to keep the server's cores busy. */
const CONNECTIONS = 100;
/** Orders name one of this many products. */
const PRODUCTS = 1_000;

/**
 * QUALITY.md `http`: `POST /orders` (one unit of a random product, priced from the products read
 * model) at the server's maximum rate against `GET /health` at its maximum rate on the same
 * server, in alternating rounds, medians compared. The API runs alone in its process; a relay
 * and projector in another keep the read models (no sagas: the orders stay placed). Every
 * answer must be 2xx, or the run is refused.
 */
export async function benchHttp(settings: Settings): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const api = await startBenchApi(settings, ['api', 'relay,projector']);
  const run = randomBytes(3).toString('hex');
  try {
    const admin = await api.token('bench-http', ['admin']);
    const customer = await api.token('bench-http-customer', ['customer']);
    // Products of this run only, in the read model before the rounds begin.
    const skuOf = (index: number) => `bench-http-${run}-${index}`;
    const registered = await registerProducts(api, admin, skuOf);
    await readModelAt(api, admin, registered);
    const health = (seconds: number) => load(api, seconds, { method: 'GET', path: '/health' });
    const receive = (seconds: number) => load(api, seconds, placeOrder(customer, skuOf));
    await health(WARM_UP_SECONDS);
    await receive(WARM_UP_SECONDS);
    const healthRates: number[] = [];
    const commandRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const phases = [async () => healthRates.push(await health(SECONDS)), async () => commandRates.push(await receive(SECONDS))];
      for (const phase of round % 2 ? phases.reverse() : phases) await phase();
    }
    return compared('http', 'requests_per_s', median(commandRates), 'get_health', median(healthRates));
  } finally {
    await api.stop();
  }
}

type SkuOf = (index: number) => string;

const placeOrder = (customer: string, skuOf: SkuOf): autocannon.Request => ({
  method: 'POST',
  path: '/orders',
  headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' },
  setupRequest: (request) => ({
    ...request,
    body: JSON.stringify({ items: [{ sku: skuOf(Math.floor(Math.random() * PRODUCTS)), quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: 'NL' }),
  }),
});

/** Waits until the products read model shows `position` (it answers `?minPosition=` within 5 s, else 503). */
async function readModelAt(api: BenchApi, admin: string, position: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${api.baseUrl}/products?limit=1&minPosition=${position}`, { headers: { authorization: `Bearer ${admin}` } });
    if (response.ok) return;
    if (response.status !== 503 || attempt > 60) throw new Error(`the products read model did not reach ${position}: ${response.status}`);
  }
}

/** The products ordered (placing an order checks no stock: no saga runs); returns the position of the last registration. */
async function registerProducts(api: BenchApi, admin: string, skuOf: SkuOf): Promise<string> {
  const progress = startProgress('registering products', PRODUCTS, 'products');
  const next = { index: 0 };
  let last = 0n;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next.index < PRODUCTS) {
        const sku = skuOf(next.index++);
        const response = await fetch(`${api.baseUrl}/products`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sku, name: `Bench product ${sku}`, priceCents: 1_000 }),
        });
        if (response.status !== 201) throw new Error(`registering ${sku} answered ${response.status}: ${await response.text()}`);
        const { position } = (await response.json()) as { position: string };
        if (BigInt(position) > last) last = BigInt(position);
        progress.advance();
      }
    }),
  );
  progress.stop();
  return last.toString();
}

/** Requests per second the server answered over `seconds` of closed-loop load at its maximum rate. */
async function load(api: BenchApi, seconds: number, request: autocannon.Request): Promise<number> {
  const result = await autocannon({ url: api.baseUrl, connections: CONNECTIONS, duration: seconds, requests: [request] });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) throw new Error(`${request.method} ${request.path ?? '/products/:sku/stock'}: ${failed} of ${result.requests.total} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`);
  return result.requests.total / seconds;
}
