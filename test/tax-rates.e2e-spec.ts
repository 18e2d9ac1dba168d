import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { untilReady } from './tidings-process';

/** ARCHITECTURE §6 config: tax rates live in a JetStream KV bucket that every API instance watches. */
describe('tax rates across API instances', () => {
  const first = useTidingsApi();
  let secondUrl: string;
  let admin: string;
  let alice: string;

  beforeAll(async () => {
    [admin, alice] = await first.tokens([
      { userId: 'ops', roles: ['admin'] },
      { userId: 'alice', roles: ['customer'] },
    ]);
    secondUrl = await untilReady(first.start('api'));
  });

  const call = async (baseUrl: string, method: string, path: string, token: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('reaches new orders on another instance within a second of the change', async () => {
    expect((await call(first.baseUrl, 'POST', '/products', admin, { sku: 'globe', name: 'Globe', priceCents: 10_000 })).status).toBe(201);
    expect((await call(first.baseUrl, 'POST', '/products/globe/stock', admin, { quantity: 10 })).status).toBe(200);

    expect(await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 0.25 })).toEqual({ status: 200, body: { country: 'SE', rate: 0.25 } });
    await eventually(async () => expect((await call(secondUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.25 }), { timeoutMs: 1_000, intervalMs: 10 });
    const placed = await call(secondUrl, 'POST', '/orders', alice, { items: [{ sku: 'globe', quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: 'SE' });
    expect(placed.status).toBe(202);
    const order = await eventually(
      async () => {
        const read = await call(secondUrl, 'GET', `/orders/${placed.body.orderId as string}`, alice);
        expect(read.status).toBe(200);
        return read.body;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(order).toMatchObject({ subtotalCents: 10_000, taxCents: 2_500, totalCents: 12_500 });

    // A change on the second instance reaches the first the same way.
    expect((await call(secondUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 0.12 })).status).toBe(200);
    await eventually(async () => expect((await call(first.baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.12 }), { timeoutMs: 1_000, intervalMs: 10 });
  });

  it('refuses a rate outside 0..1 or a country that is not ISO 3166 alpha-2, and only admins may change one', async () => {
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 1.5 })).status).toBe(400);
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/Sweden', admin, { rate: 0.2 })).status).toBe(400);
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', alice, { rate: 0 })).status).toBe(403);
    expect((await call(first.baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.12 });
  });
});
