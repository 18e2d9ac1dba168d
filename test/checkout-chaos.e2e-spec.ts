import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { expectCheckoutLedger, untilEverySagaEnds, type PlacedOrder } from './checkout-ledger';
import { killHard, type TidingsProcess } from './tidings-process';

const ORDERS = 500;
const CUSTOMERS = 25;
const SKUS = 12;
const UNITS_PER_SKU = 40;
/** Weighted: mostly cards that pay, some declined, transient failures that recover, a few that never answer. */
const TOKENS = ['tok_visa', 'tok_visa', 'tok_visa', 'tok_visa', 'tok_visa', 'tok_chargeDeclined', 'tok_unavailable_1', 'tok_unavailable_2', 'tok_timeout'];
const KILLS = 3;

/** A seeded generator: a failing run can be repeated. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)], between: (low: number, high: number) => low + Math.floor(next() * (high - low + 1)) };
}

/**
 * QUALITY.md's checkout ledger under faults: 500 checkouts with random payment tokens, two
 * sagas processes driving the same sagas, sagas nudged again and again (a step delivered
 * twice, concurrently), and kill -9 of a sagas process three times mid-run. Then: every saga
 * terminal; per order captured − refunded = total if confirmed else 0 (the gateway's books);
 * per sku available + reserved + sold = received, never negative; no effect twice.
 */
describe('checkout under kill -9 and duplicated deliveries: the ledger holds', () => {
  const sagas: TidingsProcess[] = [];
  const api = useTidingsApi({ PAYMENT_SIMULATOR_LATENCY_MS: '3', CHECKOUT_PAYMENT_TIMEOUT_MS: '1000' }, 'api,relay,projector');

  let onFinished = () => undefined as unknown;
  afterEach(() => onFinished());

  it('ends every checkout consistently', async () => {
    const rng = random(Number(process.env.CHAOS_SEED ?? 20261121));
    const [admin, ...customers] = await api.tokens([{ userId: 'ops', roles: ['admin'] }, ...Array.from({ length: CUSTOMERS }, (_, i) => ({ userId: `c${i}`, roles: ['customer' as const] }))]);
    const post = async (path: string, token: string, body: unknown) => {
      const response = await fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const skus = Array.from({ length: SKUS }, (_, i) => `chaos-${i}`);
    for (const sku of skus) {
      expect((await post('/products', admin, { sku, name: sku, priceCents: 100 * (1 + (skus.indexOf(sku) % 7)) })).status).toBe(201);
      expect((await post(`/products/${sku}/stock`, admin, { quantity: UNITS_PER_SKU })).status).toBe(200);
    }

    sagas.push(api.start('sagas'), api.start('sagas'));
    let running = true;
    onFinished = () => (running = false);
    // Duplicated deliveries: sagas made due again at random while they run, so both processes drive them at once.
    // Rows a scheduler is claiming or settling at that moment are skipped: waiting on them in random order could deadlock with it.
    const nudging = (async () => {
      while (running) {
        await api.pool.query(`UPDATE checkout_sagas SET due_at = now(), nudged_at = clock_timestamp()
                              WHERE saga_id IN (SELECT saga_id FROM checkout_sagas ORDER BY random() LIMIT 20 FOR UPDATE SKIP LOCKED)`);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    // kill -9 of a sagas process, replaced by a fresh one, three times while orders arrive.
    let placedCount = 0;
    const killing = (async () => {
      for (let kill = 1; kill <= KILLS; kill++) {
        await eventually(() => expect(placedCount).toBeGreaterThanOrEqual((kill * ORDERS) / (KILLS + 1)), { timeoutMs: 120_000, intervalMs: 10 });
        const victim = sagas.shift() as TidingsProcess;
        await killHard(victim);
        sagas.push(api.start('sagas'));
      }
    })();

    const orders: PlacedOrder[] = [];
    const plan = Array.from({ length: ORDERS }, () => {
      const lines = [...new Set(Array.from({ length: rng.between(1, 3) }, () => rng.pick(skus)))];
      return { token: rng.pick(customers), paymentToken: rng.pick(TOKENS), items: lines.map((sku) => ({ sku, quantity: rng.between(1, 3) })) };
    });
    for (let start = 0; start < plan.length; start += 20) {
      await Promise.all(
        plan.slice(start, start + 20).map(async ({ token, paymentToken, items }) => {
          const placed = await post('/orders', token, { items, paymentToken, shippingCountry: 'NL' });
          expect(placed.status).toBe(202);
          orders.push({ orderId: placed.body.orderId as string, items });
          placedCount++;
        }),
      );
    }
    await killing;

    await untilEverySagaEnds(api.pool, ORDERS);
    running = false;
    await nudging;

    const confirmed = await expectCheckoutLedger(api.pool, orders, 'chaos-');
    // Some of everything happened: the run exercised both outcomes.
    expect(confirmed.size).toBeGreaterThan(ORDERS / 10);
    expect(ORDERS - confirmed.size).toBeGreaterThan(ORDERS / 10);
  }, 300_000);
});
