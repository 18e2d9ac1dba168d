import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

type GraphqlAnswer = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { status?: number; type?: string } }[] };
type Order = { orderId: string; customerId: string; status: string; items: unknown[]; subtotalCents: number; taxCents: number; totalCents: number; currency: string; payment: { status: string }; version: number };

const ORDER_FIELDS = 'orderId customerId status items { sku quantity unitPriceCents } subtotalCents taxCents totalCents currency cancellationReason payment { status } version updatedAt';
const PLACE_ORDER = 'mutation Place($sku: String!, $token: String!) { placeOrder(items: [{ sku: $sku, quantity: 2 }], paymentToken: $token, shippingCountry: "DE") { orderId status position } }';
const ORDER = `query Order($orderId: String!, $minPosition: String) { order(orderId: $orderId, minPosition: $minPosition) { ${ORDER_FIELDS} } }`;
const STATUS_CHANGED = 'subscription Changed($orderId: String!) { orderStatusChanged(orderId: $orderId) { orderId status } }';

/** A graphql-ws client of `/graphql`, its `connection_init` carrying the token. */
const graphqlWsClient = (url: string, token: string): Client =>
  createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${token}` } });

/** The first result of a subscription (or its error), then unsubscribes. */
function firstResult(client: Client, query: string, variables: Record<string, unknown>) {
  return new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
    const unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (result) => {
          unsubscribe();
          resolve({ result });
        },
        error: (error) => resolve({ error }),
        complete: () => resolve({}),
      },
    );
  });
}

describe('orders and checkout sagas over GraphQL', () => {
  const api = useTidingsApi();
  const sku = 'gql-order-lamp';
  let admin: string;
  let alice: string;
  let bob: string;

  const graphql = async (token: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlAnswer> => {
    const response = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as GraphqlAnswer;
  };
  const rest = async (path: string, body: unknown) => {
    const response = await fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBeLessThan(300);
  };
  const placeOrder = async (token: string, paymentToken: string) => {
    const answer = await graphql(token, PLACE_ORDER, { sku, token: paymentToken });
    expect(answer.errors).toBeUndefined();
    return answer.data?.placeOrder as { orderId: string; status: string; position: string };
  };
  const orderOf = async (token: string, orderId: string, minPosition?: string) => (await graphql(token, ORDER, { orderId, minPosition })).data?.order as Order | null;

  beforeAll(async () => {
    [admin, alice, bob] = await api.tokens([
      { userId: 'ops', roles: ['admin'] },
      { userId: 'alice', roles: ['customer'] },
      { userId: 'bob', roles: ['customer'] },
    ]);
    await rest('/products', { sku, name: 'Lamp', priceCents: 4_500 });
    await rest(`/products/${sku}/stock`, { quantity: 100 });
  });

  let confirmedOrderId: string;

  it('places an order whose checkout confirms it with the payment captured; another customer sees nothing of it', async () => {
    const placed = await placeOrder(alice, 'tok_visa');
    expect(placed).toEqual({ orderId: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'placed', position: expect.stringMatching(/^\d+$/) });
    confirmedOrderId = placed.orderId;

    expect(await orderOf(alice, placed.orderId, placed.position)).toMatchObject({ orderId: placed.orderId, customerId: 'alice', items: [{ sku, quantity: 2, unitPriceCents: 4_500 }], subtotalCents: 9_000 });
    const confirmed = await eventually(
      async () => {
        const order = await orderOf(alice, placed.orderId);
        expect(order).toMatchObject({ status: 'confirmed', payment: { status: 'captured' } });
        return order as Order;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(confirmed.totalCents).toBe(confirmed.subtotalCents + confirmed.taxCents);

    const mine = await graphql(alice, '{ orders(status: "confirmed") { items { orderId } nextCursor } }');
    expect(mine.data?.orders).toEqual({ items: [{ orderId: placed.orderId }], nextCursor: null });
    const alicesForAdmin = await graphql(admin, '{ orders(customerId: "alice") { items { orderId customerId } } }');
    expect(alicesForAdmin.data?.orders).toEqual({ items: [{ orderId: placed.orderId, customerId: 'alice' }] });

    expect(await orderOf(bob, placed.orderId)).toBeNull();
    expect((await graphql(bob, '{ orders { items { orderId } } }')).data?.orders).toEqual({ items: [] });
    const othersCancel = await graphql(bob, 'mutation Cancel($orderId: String!) { cancelOrder(orderId: $orderId) { orderId status } }', { orderId: placed.orderId });
    expect(othersCancel.errors?.[0].extensions).toMatchObject({ status: 404 });
    const staleCancel = await graphql(alice, 'mutation Cancel($orderId: String!) { cancelOrder(orderId: $orderId, expectedVersion: 0) { orderId status } }', { orderId: placed.orderId });
    expect(staleCancel.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/wrong-expected-version$/) });
    const lateCancel = await graphql(alice, 'mutation Cancel($orderId: String!, $version: Int) { cancelOrder(orderId: $orderId, expectedVersion: $version) { orderId status } }', { orderId: placed.orderId, version: confirmed.version });
    expect(lateCancel.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/order-already-confirmed$/) });
  });

  it('shows admins the completed saga and its history, refuses customers, and refuses to compensate or retry a completed saga', async () => {
    const sagaId = `checkout-${confirmedOrderId}`;
    await eventually(
      async () => {
        const completed = await graphql(admin, '{ sagas(status: "completed") { items { sagaId orderId status step attempts lastError startedAt updatedAt } nextCursor } }');
        expect(completed.data?.sagas).toEqual({ items: [expect.objectContaining({ sagaId, orderId: confirmedOrderId, status: 'completed' })], nextCursor: null });
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    const shown = await graphql(admin, 'query Saga($sagaId: String!) { saga(sagaId: $sagaId) { sagaId status version history { at type data } } }', { sagaId });
    const saga = shown.data?.saga as { sagaId: string; status: string; version: number; history: { at: string; type: string; data: string }[] };
    // The version of the saga's stream: its history's last record.
    expect(saga).toMatchObject({ sagaId, status: 'completed', version: saga.history.length - 1 });
    const completed = saga.history.find((entry) => entry.type === 'CheckoutCompleted');
    expect(completed).toBeDefined();
    expect(JSON.parse(completed!.data)).toMatchObject({ orderId: confirmedOrderId });
    expect((await graphql(admin, '{ saga(sagaId: "checkout-00000000-0000-0000-0000-000000000000") { sagaId } }')).data?.saga).toBeNull();

    const refused = await graphql(alice, '{ sagas { items { sagaId } } }');
    expect(refused.errors?.[0].extensions).toMatchObject({ status: 403 });
    const refusedCompensation = await graphql(alice, `mutation { compensateSaga(sagaId: "${sagaId}", reason: "mine") { status } }`);
    expect(refusedCompensation.errors?.[0].extensions).toMatchObject({ status: 403 });

    const compensation = await graphql(admin, `mutation { compensateSaga(sagaId: "${sagaId}", reason: "customer called") { sagaId status } }`);
    expect(compensation.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/checkout-confirmed$/) });
    const retry = await graphql(admin, `mutation { retrySaga(sagaId: "${sagaId}") { sagaId status } }`);
    expect(retry.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/nothing-to-retry$/) });
    // A stale expectedVersion is refused before the saga's own rules are asked.
    for (const mutation of [`retrySaga(sagaId: "${sagaId}", expectedVersion: 0) { status }`, `compensateSaga(sagaId: "${sagaId}", reason: "stale", expectedVersion: 0) { status }`]) {
      expect((await graphql(admin, `mutation { ${mutation} }`)).errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/wrong-expected-version$/) });
    }
  });

  it('answers a failure of its own as an internal error, logged under the correlation id, its words kept from the caller', async () => {
    // A read-model row the schema cannot return (items that are no list): a fault on our side, not the caller's.
    const { rows } = await api.pool.query<{ items: unknown }>('SELECT items FROM orders WHERE order_id = $1', [confirmedOrderId]);
    await api.pool.query(`UPDATE orders SET items = '"not a list"'::jsonb WHERE order_id = $1`, [confirmedOrderId]);
    try {
      const response = await fetch(`${api.baseUrl}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'x-correlation-id': 'graphql-internal-1' },
        body: JSON.stringify({ query: ORDER, variables: { orderId: confirmedOrderId } }),
      });
      const answer = (await response.json()) as GraphqlAnswer;
      expect(answer.errors).toEqual([
        { message: 'the request failed on our side; it has been logged', locations: [{ line: 1, column: expect.any(Number) }], path: ['order'], extensions: { type: expect.stringMatching(/internal$/), title: 'Internal error', status: 500 } },
      ]);
      await eventually(async () => expect(api.output()).toMatch(/order failed \(graphql-internal-1\): \w*Error/), { timeoutMs: 5_000, intervalMs: 100 });
    } finally {
      await api.pool.query('UPDATE orders SET items = $2 WHERE order_id = $1', [confirmedOrderId, JSON.stringify(rows[0].items)]);
    }
  });

  it('tells the owner and admins over graphql-ws when a checkout whose payment times out cancels the order; others are refused', async () => {
    const graphqlUrl = `${api.baseUrl.replace('http', 'ws')}/graphql`;
    const clients = { alice: graphqlWsClient(graphqlUrl, alice), ops: graphqlWsClient(graphqlUrl, admin), bob: graphqlWsClient(graphqlUrl, bob) };
    try {
      // tok_timeout never answers: the saga gives up after CHECKOUT_PAYMENT_TIMEOUT_MS (4 s in these tests), ample time for the subscriptions to be live.
      const placed = await placeOrder(alice, 'tok_timeout');
      // Authorization reads the order, so subscribe once the read model shows it.
      expect(await orderOf(alice, placed.orderId, placed.position)).toMatchObject({ status: 'placed' });

      const [owners, admins, others] = await Promise.all([clients.alice, clients.ops, clients.bob].map((client) => firstResult(client, STATUS_CHANGED, { orderId: placed.orderId })));
      expect(owners).toEqual({ result: { data: { orderStatusChanged: { orderId: placed.orderId, status: 'cancelled' } } } });
      expect(admins).toEqual(owners);
      expect(others.result).toBeUndefined();
      expect(others.error).toEqual([expect.objectContaining({ message: `no order ${placed.orderId}`, extensions: { type: expect.stringMatching(/not-found$/), title: 'Not found', status: 404 } })]);
      await eventually(async () => expect(await orderOf(alice, placed.orderId)).toMatchObject({ status: 'cancelled', payment: { status: expect.not.stringMatching(/captured/) } }), { timeoutMs: 5_000, intervalMs: 100 });
    } finally {
      await Promise.all(Object.values(clients).map((client) => client.dispose()));
    }
  });
});
