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
/** Stock is received across this many products, so writers rarely meet on one stream. */
const PRODUCTS = 1_000;

/**
 * QUALITY.md `http`: a command at the server's maximum rate — `POST /products/:sku/stock`
 * (receive one unit of a random product; `POST /orders` once checkout exists) — against
 * `GET /health` at its maximum rate on the same server, in alternating rounds, medians
 * compared. Every answer must be 2xx, or the run is refused.
 */
export async function benchHttp(settings: Settings): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const api = await startBenchApi(settings, ['api']);
  const run = randomBytes(3).toString('hex');
  try {
    const admin = await api.token('bench-http', ['admin']);
    // Products of this run only: every run starts from the same short streams.
    const skuOf = (index: number) => `bench-http-${run}-${index}`;
    await registerProducts(api, admin, skuOf);
    const health = (seconds: number) => load(api, seconds, { method: 'GET', path: '/health' });
    const receive = (seconds: number) => load(api, seconds, receiveStock(admin, skuOf));
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

const receiveStock = (admin: string, skuOf: SkuOf): autocannon.Request => ({
  method: 'POST',
  headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({ quantity: 1 }),
  setupRequest: (request) => ({ ...request, path: `/products/${skuOf(Math.floor(Math.random() * PRODUCTS))}/stock` }),
});

/** The products stock is received for. */
async function registerProducts(api: BenchApi, admin: string, skuOf: SkuOf): Promise<void> {
  const progress = startProgress('registering products', PRODUCTS, 'products');
  const next = { index: 0 };
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
        progress.advance();
      }
    }),
  );
  progress.stop();
}

/** Requests per second the server answered over `seconds` of closed-loop load at its maximum rate. */
async function load(api: BenchApi, seconds: number, request: autocannon.Request): Promise<number> {
  const result = await autocannon({ url: api.baseUrl, connections: CONNECTIONS, duration: seconds, requests: [request] });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) throw new Error(`${request.method} ${request.path ?? '/products/:sku/stock'}: ${failed} of ${result.requests.total} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`);
  return result.requests.total / seconds;
}
