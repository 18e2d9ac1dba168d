import WebSocket from 'ws';
import { paymentStreamId } from '@tidings/payments';
import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

type Order = {
  orderId: string;
  customerId: string;
  status: 'placed' | 'confirmed' | 'cancelled';
  subtotalCents: number;
  taxCents: number;
  totalCents: number;
  cancellationReason?: string;
  payment: { status: string };
};
type Saga = { sagaId: string; status: string; attempts: number; lastError: string | null; history: { at: string; type: string; data: Record<string, unknown> }[] };

describe('checkout: orders, payments and the saga that keeps them consistent', () => {
  // The harness runs the sagas role with a payment timeout of 1.5 s.
  const api = useTidingsApi();
  let admin: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    [admin, alice, bob] = await api.tokens([
      { userId: 'ops', roles: ['admin'] },
      { userId: 'alice', roles: ['customer'] },
      { userId: 'bob', roles: ['customer'] },
    ]);
  });

  /** As `call`, with headers of the request's own, answering the response's headers too. */
  const request = async (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const { status, body: answered } = await request(method, path, token, body);
    return { status, body: answered };
  };
  const stock = async (sku: string, quantity: number, priceCents = 1_000) => {
    expect((await call('POST', '/products', admin, { sku, name: `Product ${sku}`, priceCents })).status).toBe(201);
    expect((await call('POST', `/products/${sku}/stock`, admin, { quantity })).status).toBe(200);
  };
  const place = async (token: string, sku: string, paymentToken: string, quantity = 1, shippingCountry = 'FR') => {
    const placed = await call('POST', '/orders', token, { items: [{ sku, quantity }], paymentToken, shippingCountry });
    expect(placed).toEqual({ status: 202, body: { orderId: expect.any(String), status: 'placed', position: expect.stringMatching(/^\d+$/) } });
    return placed.body.orderId as string;
  };
  /**
   * The order once its saga has ended it (confirmed or cancelled), as the read model shows it:
   * its payment status too, which comes from another stream and may be applied a moment later.
   */
  const settled = (orderId: string, token = admin, timeoutMs = 20_000) =>
    eventually(
      async () => {
        const { status, body } = await call('GET', `/orders/${orderId}`, token);
        expect(status).toBe(200);
        const order = body as unknown as Order;
        expect(['confirmed', 'cancelled']).toContain(order.status);
        expect(order.status === 'confirmed' ? order.payment.status === 'captured' : !['authorized', 'captured'].includes(order.payment.status)).toBe(true);
        return order;
      },
      { timeoutMs, intervalMs: 50 },
    );
  const saga = async (orderId: string) => (await call('GET', `/admin/sagas/checkout-${orderId}`, admin)).body as unknown as Saga;
  /** The product once every saga touching it has let go of its reservations. */
  const productWhenSettled = (sku: string) =>
    eventually(
      async () => {
        const { body } = await call('GET', `/products/${sku}`, admin);
        expect(body.reserved).toBe(0);
        return body as { onHand: number; reserved: number; available: number };
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );

  it('sells 10 units to exactly 10 of 50 concurrent orders: the rest are cancelled and nothing stays reserved', async () => {
    await stock('lamp', 10, 4_500);
    const customers = await api.tokens(Array.from({ length: 50 }, (_, i) => ({ userId: `buyer-${i}`, roles: ['customer' as const] })));
    const orderIds = await Promise.all(customers.map((token) => place(token, 'lamp', 'tok_visa')));
    const orders = await Promise.all(orderIds.map((orderId) => settled(orderId, admin, 60_000)));

    const confirmed = orders.filter((order) => order.status === 'confirmed');
    const cancelled = orders.filter((order) => order.status === 'cancelled');
    expect(confirmed).toHaveLength(10);
    expect(cancelled).toHaveLength(40);
    expect(confirmed.every((order) => order.payment.status === 'captured')).toBe(true);
    expect(cancelled.filter((order) => !order.cancellationReason?.startsWith('insufficient stock of lamp') || !['none', 'voided'].includes(order.payment.status))).toEqual([]);
    expect(await productWhenSettled('lamp')).toMatchObject({ onHand: 0, reserved: 0, available: 0 });
    const sagas = await Promise.all(orderIds.map(saga));
    expect(sagas.map((each) => each.status).sort()).toEqual([...Array(10).fill('completed'), ...Array(40).fill('compensated')].sort());
  });

  it('cancels a declined payment and releases its stock', async () => {
    await stock('mug', 3);
    const orderId = await place(alice, 'mug', 'tok_chargeDeclined', 2);
    const order = await settled(orderId, alice);
    expect(order).toMatchObject({ status: 'cancelled', cancellationReason: 'payment declined: card_declined', payment: { status: 'declined' } });
    expect(await productWhenSettled('mug')).toMatchObject({ onHand: 3, available: 3 });
    expect((await saga(orderId)).history.map((entry) => entry.type)).toEqual([
      'CheckoutStarted',
      'CheckoutItemsReserved',
      'CheckoutPaymentDeclined',
      'CheckoutItemReleased',
      'CheckoutOrderCancelled',
      'CheckoutCompensated',
    ]);
  });

  it('cancels a payment the gateway never answers once its deadline (in PostgreSQL) fires, and releases the stock', async () => {
    await stock('kettle', 2);
    const orderId = await place(alice, 'kettle', 'tok_timeout');
    expect(await settled(orderId, alice)).toMatchObject({ status: 'cancelled', cancellationReason: 'payment timed out (attempt 1)' });
    expect(await productWhenSettled('kettle')).toMatchObject({ onHand: 2, available: 2 });
  });

  it('retries a gateway that is unavailable twice, then confirms, with the stock sold and the payment captured once', async () => {
    await stock('chair', 5, 2_000);
    expect((await call('PUT', '/admin/config/tax-rates/DE', admin, { rate: 0.19 })).status).toBe(200);
    const orderId = await place(alice, 'chair', 'tok_unavailable_2', 2, 'DE');
    const order = await settled(orderId, alice);
    expect(order).toMatchObject({ status: 'confirmed', subtotalCents: 4_000, taxCents: 760, totalCents: 4_760, payment: { status: 'captured' } });
    expect(await productWhenSettled('chair')).toMatchObject({ onHand: 3, available: 3 });
    const afterRetries = await saga(orderId);
    // The last transient failure stays the saga's last error once it has gone on.
    expect(afterRetries).toMatchObject({ lastError: expect.stringMatching(/^the gateway is unavailable \(attempt 2 /) });
    const history = afterRetries.history.map((entry) => entry.type);
    expect(history.filter((type) => type === 'CheckoutPaymentFailed')).toHaveLength(2);
    expect(history.slice(-3)).toEqual(['CheckoutPaymentAuthorized', 'CheckoutOrderConfirmed', 'CheckoutCompleted']);
    expect(await api.eventTypes(paymentStreamId(orderId))).toEqual(['PaymentAttemptFailed', 'PaymentAttemptFailed', 'PaymentAuthorized', 'PaymentCaptured']);
  });

  it('lets the owner cancel a placed order (the saga compensates) but not a confirmed one; other customers get 404', async () => {
    await stock('desk', 4);
    const confirmedId = await place(alice, 'desk', 'tok_visa');
    expect((await settled(confirmedId, alice)).status).toBe('confirmed');
    expect((await call('POST', `/orders/${confirmedId}/cancel`, alice)).status).toBe(409);
    expect((await call('POST', `/orders/${confirmedId}/cancel`, bob)).status).toBe(404);
    expect((await call('GET', `/orders/${confirmedId}`, bob)).status).toBe(404);
    // A UUID is read without regard to case: the same order, saga and refusal.
    expect(await call('GET', `/orders/${confirmedId.toUpperCase()}`, alice)).toMatchObject({ status: 200, body: { orderId: confirmedId, status: 'confirmed' } });
    expect(await call('GET', `/admin/sagas/CHECKOUT-${confirmedId.toUpperCase()}`, admin)).toMatchObject({ status: 200, body: { orderId: confirmedId } });
    expect((await call('POST', `/orders/${confirmedId.toUpperCase()}/cancel`, alice)).status).toBe(409);
    expect((await call('POST', `/admin/sagas/checkout-${confirmedId}/compensate`, admin, { reason: 'too late' })).status).toBe(409);

    // A payment that times out leaves 1.5 s to cancel while the saga is running; under If-Match, only the version placed (0).
    const cancellableId = await place(alice, 'desk', 'tok_timeout');
    const cancelUnder = (etag: string) => fetch(`${api.baseUrl}/orders/${cancellableId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'if-match': etag } });
    // A body the cancellation does not take is refused, and cancels nothing (If-Match "0" is still accepted below).
    expect(await call('POST', `/orders/${cancellableId}/cancel`, alice, { reason: 'changed my mind' })).toMatchObject({ status: 400, body: { status: 400 } });
    const stale = await cancelUnder('"3"');
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ type: expect.stringMatching(/wrong-expected-version$/) });
    const accepted = await cancelUnder('"0"');
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('etag')).toBe('"1"');
    // Asked again, nothing changes: the answer still says where the order's state can be read.
    const { position: requestedAt } = (await accepted.json()) as { position: string };
    const again = await call('POST', `/orders/${cancellableId}/cancel`, alice);
    expect(again).toMatchObject({ status: 202, body: { position: expect.stringMatching(/^\d+$/) } });
    expect(BigInt(again.body.position as string)).toBeGreaterThanOrEqual(BigInt(requestedAt));
    const cancelled = await settled(cancellableId, alice);
    expect(cancelled.status).toBe('cancelled');
    expect(['cancelled by the customer', 'payment timed out (attempt 1)']).toContain(cancelled.cancellationReason);
    expect(await productWhenSettled('desk')).toMatchObject({ onHand: 3, available: 3 });
  });

  it('records an operator’s compensation with actor and reason in the saga’s history, under If-Match only on the saga as it was seen', async () => {
    await stock('rug', 2);
    const orderId = await place(alice, 'rug', 'tok_timeout');
    const sagaPath = `/admin/sagas/checkout-${orderId}`;
    // The saga can be compensated once it has started (before, the answer is 409); once its items are reserved, it waits on the gateway until the payment deadline.
    await eventually(async () => expect((await call('GET', sagaPath, admin)).body.history).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'CheckoutItemsReserved' })])), { timeoutMs: 10_000, intervalMs: 20 });
    // Its first drive waits on the gateway: the saga is running, in a status the API documents and can filter on.
    const shown = await request('GET', sagaPath, admin);
    const seen = shown.body as unknown as Saga;
    expect(seen.status).toBe('running');
    expect((await call('GET', '/admin/sagas?status=running&limit=100', admin)).body.items).toEqual(expect.arrayContaining([expect.objectContaining({ sagaId: `checkout-${orderId}`, status: 'running' })]));
    // Its ETag is the version of its stream, where its history ends; the body has no version of its own.
    const etag = shown.headers.get('etag');
    expect(etag).toBe(`"${seen.history.length - 1}"`);
    expect(shown.body).not.toHaveProperty('version');
    // Under If-Match, an action applies only to the saga as it was seen: a malformed one is 400, a stale one 409, and neither records anything.
    const compensateUnder = (ifMatch: string, extra: Record<string, string> = {}) => request('POST', `${sagaPath}/compensate`, admin, { reason: 'fraud check' }, { 'if-match': ifMatch, ...extra });
    expect((await compensateUnder(String(seen.history.length - 1))).body).toMatchObject({ status: 400 });
    const stale = `"${seen.history.length - 2}"`;
    expect((await compensateUnder(stale)).body).toMatchObject({ status: 409, type: expect.stringMatching(/wrong-expected-version$/) });
    expect((await request('POST', `${sagaPath}/retry`, admin, {}, { 'if-match': stale })).body).toMatchObject({ status: 409, type: expect.stringMatching(/wrong-expected-version$/) });
    expect(await api.eventTypes(`checkout-${orderId}`)).toEqual(seen.history.map((entry) => entry.type));
    // At the version seen, it is recorded, and answers the saga's version after it; a replay under its Idempotency-Key answers the same.
    const compensated = await compensateUnder(etag as string, { 'idempotency-key': `compensate-${orderId}` });
    expect(compensated).toMatchObject({ status: 202, body: { sagaId: `checkout-${orderId}`, status: 'compensating', position: expect.stringMatching(/^\d+$/) } });
    expect(compensated.headers.get('etag')).toBe(`"${seen.history.length}"`);
    const replayed = await compensateUnder(etag as string, { 'idempotency-key': `compensate-${orderId}` });
    expect(replayed).toMatchObject({ status: 202, body: compensated.body });
    expect([replayed.headers.get('etag'), replayed.headers.get('idempotent-replayed')]).toEqual([`"${seen.history.length}"`, 'true']);
    expect(['compensating', 'compensated']).toContain((await saga(orderId)).status);
    const order = await settled(orderId, alice);
    expect(order.status).toBe('cancelled');
    // Compensating again records nothing, and says so.
    const again = await call('POST', `/admin/sagas/checkout-${orderId}/compensate`, admin, { reason: 'twice' });
    expect(again).toMatchObject({ status: 409, body: { type: expect.stringMatching(/nothing-to-compensate$/) } });
    const history = (await saga(orderId)).history;
    expect(history.filter((entry) => entry.type === 'CheckoutCompensationStarted')).toEqual([expect.objectContaining({ data: expect.objectContaining({ reason: 'fraud check', actor: 'ops' }) })]);
    expect((await call('GET', '/admin/sagas', alice)).status).toBe(403);
    const metrics = await (await fetch(`${api.baseUrl}/metrics`)).text();
    expect(Number(/^tidings_sagas\{status="compensated"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/^tidings_sagas\{status="failed"\} 0$/m);
    expect((await call('GET', '/admin/sagas?status=compensated&limit=100', admin)).body.items).toEqual(expect.arrayContaining([expect.objectContaining({ sagaId: `checkout-${orderId}` })]));
  });

  it('lists an order’s saga at the position it was placed at; every admin GET checks minPosition', async () => {
    await stock('urn', 2);
    const placed = await request('POST', '/orders', alice, { items: [{ sku: 'urn', quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: 'FR' });
    // The order's version is its ETag, from the first answer on.
    expect(placed.headers.get('etag')).toBe('"0"');
    const { orderId, position } = placed.body as { orderId: string; position: string };
    // Read-your-writes: the list waits until the sagas' trigger has taken in the order, whatever page it is on.
    const listed: string[] = [];
    for (let cursor = ''; ; ) {
      const page = await call('GET', `/admin/sagas?minPosition=${position}&limit=100${cursor}`, admin);
      expect(page.status).toBe(200);
      listed.push(...(page.body.items as { sagaId: string }[]).map((item) => item.sagaId));
      if (!page.body.nextCursor) break;
      cursor = `&cursor=${page.body.nextCursor as string}`;
    }
    expect(listed).toContain(`checkout-${orderId}`);
    // Where the answer never trails the store, the position is checked and met at once.
    for (const path of [`/admin/sagas/checkout-${orderId}`, '/admin/projections', '/admin/dead-letters', '/config/tax-rates']) {
      expect({ path, status: (await call('GET', `${path}?minPosition=${position}`, admin)).status }).toEqual({ path, status: 200 });
      expect({ path, status: (await call('GET', `${path}?minPosition=soon`, admin)).status }).toEqual({ path, status: 400 });
      expect({ path, status: (await call('GET', `${path}?since=1`, admin)).status }).toEqual({ path, status: 400 });
    }
    expect((await call('GET', `/admin/sagas?minPosition=${BigInt(position) + 1_000_000n}`, admin)).status).toBe(503);
  });

  it('refuses bad orders without appending anything: unknown sku 422, invalid items 400', async () => {
    const before = await api.eventCount();
    expect((await call('POST', '/orders', alice, { items: [{ sku: 'no-such-sku', quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: 'FR' })).status).toBe(422);
    expect((await call('POST', '/orders', alice, { items: [], paymentToken: 'tok_visa', shippingCountry: 'FR' })).status).toBe(400);
    expect((await call('POST', '/orders', alice, { items: [{ sku: 'lamp', quantity: 1001 }], paymentToken: 'tok_visa', shippingCountry: 'FR' })).status).toBe(400);
    expect((await call('POST', '/orders', alice, { items: [{ sku: 'lamp', quantity: 1 }], paymentToken: 'tok_visa', shippingCountry: 'France' })).status).toBe(400);
    expect(await api.eventCount()).toBe(before);
  });

  it('pushes the order’s outcome to its owner on the WebSocket channel order:<id>, and to nobody else', async () => {
    await stock('vase', 1);
    const orderId = await place(alice, 'vase', 'tok_timeout');
    const open = async (token: string) => {
      const socket = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/ws?token=${token}`);
      const received: { channel: string; type: string; data: Record<string, unknown> }[] = [];
      socket.on('message', (raw) => received.push(JSON.parse(String(raw))));
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'subscribe', channel: `order:${orderId}` }));
      return { socket, received };
    };
    const owner = await open(alice);
    const stranger = await open(bob);
    try {
      const outcome = await eventually(
        () => {
          const status = owner.received.find((message) => message.type === 'status');
          expect(status).toBeDefined();
          return status;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
      );
      expect(owner.received[0]).toEqual({ channel: `order:${orderId}`, type: 'subscribed', data: null });
      expect(outcome).toEqual({ channel: `order:${orderId}`, type: 'status', data: { orderId, status: 'cancelled', saga: 'compensated' } });
      expect(stranger.received).toEqual([{ channel: `order:${orderId}`, type: 'error', data: { status: 404, detail: `no order ${orderId}` } }]);
    } finally {
      owner.socket.close();
      stranger.socket.close();
    }
  });
});
