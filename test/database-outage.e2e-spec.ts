import { eventually, startTcpProxy, type TcpProxy } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { expectCheckoutLedger, untilEverySagaEnds, type PlacedOrder } from './checkout-ledger';

const ORDERS = 120;
const SKUS = 4;
const CUTS = 8;
const CUT_EVERY_MS = 400;

/**
 * QUALITY.md's "PostgreSQL immediate shutdown", as the processes see it, without touching the
 * shared server: the relay, projector and sagas run in a process whose every database
 * connection goes through a proxy, and the proxy drops them all, again and again, while orders
 * arrive (the API, on its own connections, keeps taking them). Once the database stays: the
 * process is still running, every saga has ended, and the checkout ledger holds.
 */
describe('checkout while the database connections of the relay, projector and sagas keep dropping', () => {
  const api = useTidingsApi({ PAYMENT_SIMULATOR_LATENCY_MS: '3' }, 'api');
  let proxy: TcpProxy;
  afterAll(() => proxy?.close());

  it('loses nothing, does nothing twice, and no process dies', async () => {
    proxy = await startTcpProxy(Number(new URL(api.database.url).port || 5432));
    const proxied = new URL(api.database.url);
    proxied.port = String(proxy.port);
    const workers = api.start('relay,projector,sagas', { DATABASE_URL: proxied.toString() });

    const [admin, customer] = await api.tokens([{ userId: 'ops', roles: ['admin'] }, { userId: 'outage-customer', roles: ['customer'] }]);
    const post = async (path: string, token: string, body: unknown) => {
      const response = await fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const skus = Array.from({ length: SKUS }, (_, i) => `outage-${i}`);
    for (const sku of skus) {
      expect((await post('/products', admin, { sku, name: sku, priceCents: 250 })).status).toBe(201);
      expect((await post(`/products/${sku}/stock`, admin, { quantity: 1_000 })).status).toBe(200);
    }

    // Orders are priced from the products read model: the projector has made it and shows the stock.
    await eventually(async () => {
      const response = await fetch(`${api.baseUrl}/products/${skus[SKUS - 1]}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { onHand: number }).onHand).toBe(1_000);
    }, { timeoutMs: 60_000, intervalMs: 200 });

    let placed = 0;
    /** Orders placed when each cut fell. */
    const cutting = (async () => {
      const placedAtCuts: number[] = [];
      for (let cut = 0; cut < CUTS; cut++) {
        await new Promise((resolve) => setTimeout(resolve, CUT_EVERY_MS));
        proxy.cut();
        placedAtCuts.push(placed);
      }
      return placedAtCuts;
    })();
    const orders: PlacedOrder[] = [];
    for (let start = 0; start < ORDERS; start += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const items = [{ sku: skus[(start + i) % SKUS], quantity: 1 + (i % 3) }];
          const answer = await post('/orders', customer, { items, paymentToken: 'tok_visa', shippingCountry: 'NL' });
          expect(answer.status === 202 ? 202 : answer).toBe(202);
          orders.push({ orderId: answer.body.orderId as string, items });
          placed++;
        }),
      );
      // Paced so that the cuts fall among the orders.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The cuts fell while orders were arriving, not all before or after them.
    const placedAtCuts = await cutting;
    expect(placedAtCuts.filter((count) => count > 0 && count < ORDERS).length).toBeGreaterThan(CUTS / 2);

    await untilEverySagaEnds(api.pool, ORDERS);
    const confirmed = await expectCheckoutLedger(api.pool, orders, 'outage-');
    // Stock and card were good for every order: only a payment deadline missed during the cuts may have cancelled one.
    expect(confirmed.size).toBeGreaterThan(ORDERS / 2);
    expect(workers.child.exitCode).toBeNull();
  }, 240_000);
});
