import { connectNats } from '@tidings/messaging';
import { eventually, newTestNamespace, testNatsUrl } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { untilReady } from './tidings-process';

/** ARCHITECTURE §6 config: tax rates live in a JetStream KV bucket that every API instance watches. */
describe('tax rates across API instances', () => {
  const namespace = newTestNamespace();
  const first = useTidingsApi({ TIDINGS_NAMESPACE: namespace });
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

  /** A globe (100.00) to `country`, placed on the instance at `baseUrl`, as its orders read model shows it. */
  const orderGlobe = async (baseUrl: string, country: string) => {
    const placed = await call(baseUrl, 'POST', '/orders', alice, { items: [{ sku: 'globe', quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: country });
    expect(placed.status).toBe(202);
    return eventually(
      async () => {
        const read = await call(baseUrl, 'GET', `/orders/${placed.body.orderId as string}`, alice);
        expect(read.status).toBe(200);
        return read.body;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  };

  it('reaches new orders on another instance within a second of the change', async () => {
    expect((await call(first.baseUrl, 'POST', '/products', admin, { sku: 'globe', name: 'Globe', priceCents: 10_000 })).status).toBe(201);
    expect((await call(first.baseUrl, 'POST', '/products/globe/stock', admin, { quantity: 10 })).status).toBe(200);

    const set = await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 0.25 });
    expect(set).toEqual({ status: 200, body: { country: 'SE', rate: 0.25, position: expect.stringMatching(/^\d+$/) } });
    // The change is recorded, by whom, on the config stream.
    expect(await first.eventTypes('config-tax-rates')).toEqual(['TaxRateSet']);
    const { rows } = await first.pool.query<{ data: unknown; actor: string; position: string }>(`SELECT data, metadata->>'actor' AS actor, position::text FROM events WHERE stream_id = 'config-tax-rates'`);
    expect(rows).toEqual([{ data: { country: 'SE', rate: 0.25 }, actor: 'ops', position: set.body.position }]);
    await eventually(async () => expect((await call(secondUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.25 }), { timeoutMs: 1_000, intervalMs: 10 });
    expect(await orderGlobe(secondUrl, 'SE')).toMatchObject({ subtotalCents: 10_000, taxCents: 2_500, totalCents: 12_500 });

    // A change on the second instance reaches the first the same way.
    expect((await call(secondUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 0.12 })).status).toBe(200);
    await eventually(async () => expect((await call(first.baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.12 }), { timeoutMs: 1_000, intervalMs: 10 });
  });

  it('refuses a rate outside 0..1 or a country that is not ISO 3166 alpha-2, and only admins may change one', async () => {
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', admin, { rate: 1.5 })).status).toBe(400);
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/Sweden', admin, { rate: 0.2 })).status).toBe(400);
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/SE', alice, { rate: 0 })).status).toBe(403);
    const conditional = await fetch(`${first.baseUrl}/admin/config/tax-rates/SE`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'if-match': '"999"' }, body: JSON.stringify({ rate: 0.3 }) });
    expect({ status: conditional.status, body: await conditional.json() }).toMatchObject({ status: 400, body: { errors: [{ path: 'headers.if-match' }] } });
    expect((await call(first.baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ SE: 0.12 });
  });

  it('keeps every rate when the config bucket is lost: each instance opens it again and puts back the recorded rates', async () => {
    expect((await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/DE', admin, { rate: 0.19 })).status).toBe(200);
    // Setting a rate it has already records nothing, and answers where the rate can be read.
    const again = await call(first.baseUrl, 'PUT', '/admin/config/tax-rates/DE', admin, { rate: 0.19 });
    expect(again).toMatchObject({ status: 200, body: { country: 'DE', rate: 0.19 } });
    expect(await first.eventTypes('config-tax-rates')).toEqual(['TaxRateSet', 'TaxRateSet', 'TaxRateSet']);

    // The bucket's stream goes, as with a NATS store directory lost.
    const nats = await connectNats({ natsUrl: testNatsUrl() }, 'tax-rates-e2e');
    try {
      const jsm = await nats.jetstreamManager();
      expect(await jsm.streams.delete(`KV_${namespace}_config`)).toBe(true);
      // The instances notice (their watches fail), bring the bucket back with every recorded rate, and take changes again.
      const expected = { DE: 0.19, SE: 0.12 };
      await eventually(async () => expect((await jsm.streams.info(`KV_${namespace}_config`)).config.name).toBe(`KV_${namespace}_config`), { timeoutMs: 30_000, intervalMs: 200 });
      await eventually(
        async () => {
          const kv = await nats.jetstream().views.kv(`${namespace}_config`, { bindOnly: true });
          expect(JSON.parse((await kv.get('tax-rates.DE'))?.string() ?? 'null')).toMatchObject({ rate: 0.19 });
          expect(JSON.parse((await kv.get('tax-rates.SE'))?.string() ?? 'null')).toMatchObject({ rate: 0.12 });
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      for (const baseUrl of [first.baseUrl, secondUrl]) expect((await call(baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual(expected);
      await eventually(async () => expect((await call(secondUrl, 'PUT', '/admin/config/tax-rates/FR', admin, { rate: 0.2 })).status).toBe(200), { timeoutMs: 15_000, intervalMs: 200 });
      await eventually(async () => expect((await call(first.baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ ...expected, FR: 0.2 }), { timeoutMs: 5_000, intervalMs: 20 });

      // An instance started after the loss prices orders with the recorded rates.
      const thirdUrl = await untilReady(first.start('api'));
      expect((await call(thirdUrl, 'GET', '/config/tax-rates', alice)).body).toEqual({ ...expected, FR: 0.2 });
      expect(await orderGlobe(thirdUrl, 'DE')).toMatchObject({ subtotalCents: 10_000, taxCents: 1_900, totalCents: 11_900 });
    } finally {
      await nats.close();
    }
  });

  it('notices a bucket made again by another before its watch failed, and takes what it holds', async () => {
    const nats = await connectNats({ natsUrl: testNatsUrl() }, 'tax-rates-e2e-replaced');
    try {
      // The bucket goes and comes back at once, made by someone else, with a rate the instances' copies lack.
      const jsm = await nats.jetstreamManager();
      expect(await jsm.streams.delete(`KV_${namespace}_config`)).toBe(true);
      const kv = await nats.jetstream().views.kv(`${namespace}_config`, { history: 5 });
      await kv.put('tax-rates.NL', JSON.stringify({ rate: 0.21, position: '999999999' }));

      // Every instance opens the bucket again: it shows NL, and puts back every recorded rate beside it.
      const expected = { DE: 0.19, SE: 0.12, FR: 0.2, NL: 0.21 };
      for (const baseUrl of [first.baseUrl, secondUrl]) {
        await eventually(async () => expect((await call(baseUrl, 'GET', '/config/tax-rates', alice)).body).toEqual(expected), { timeoutMs: 20_000, intervalMs: 100 });
      }
      expect(JSON.parse((await kv.get('tax-rates.DE'))?.string() ?? 'null')).toMatchObject({ rate: 0.19 });
    } finally {
      await nats.close();
    }
  });
});
