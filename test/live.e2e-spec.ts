import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { connect as connectNats } from 'nats';
import { eventTopology, publishNotification } from '@tidings/messaging';
import { eventually, newTestNamespace, testNatsUrl } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

type LiveMessage = { channel: string | null; type: string; data: Record<string, unknown> | null };

/** A client socket that records what it receives. */
async function connect(url: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(url, { headers });
  const received: LiveMessage[] = [];
  socket.on('message', (raw) => received.push(JSON.parse(String(raw)) as LiveMessage));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.once('error', reject);
  });
  const next = async (predicate: (message: LiveMessage) => boolean, timeoutMs = 10_000): Promise<LiveMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such message; received ${JSON.stringify(received)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { socket, received, next, send: (message: object) => socket.send(JSON.stringify(message)) };
}

/** A graphql-ws client of `/graphql`, its `connection_init` carrying the token if one is given. */
const graphqlWsClient = (url: string, token?: string): Client =>
  createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: token ? { authorization: `Bearer ${token}` } : {} });

/** The first `count` results of a subscription (or its error), then unsubscribes. */
function firstResults(client: Client, query: string, count: number) {
  return new Promise<{ results: unknown[]; error?: unknown }>((resolve) => {
    const results: unknown[] = [];
    const unsubscribe = client.subscribe(
      { query },
      {
        next: (result) => {
          results.push(result);
          if (results.length < count) return;
          unsubscribe();
          resolve({ results });
        },
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  });
}

const upgradeStatus = (url: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => (socket.close(), resolve(101)));
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => undefined);
  });

describe('live updates and GraphQL', () => {
  const namespace = newTestNamespace();
  // The tests stand behind a proxy on this machine, which names each client's address (X-Forwarded-For).
  const api = useTidingsApi({ TIDINGS_NAMESPACE: namespace, TIDINGS_TRUST_PROXY: 'loopback' });
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    [admin, customer] = await api.tokens([
      { userId: 'ops', roles: ['admin'] },
      { userId: 'alice', roles: ['customer'] },
    ]);
  });

  const wsUrl = (token?: string) => `${api.baseUrl.replace('http', 'ws')}/ws${token ? `?token=${token}` : ''}`;
  const graphql = async (token: string, query: string) => {
    const response = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return (await response.json()) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { status?: number; type?: string } }[] };
  };

  it('checks the token and the origin on upgrade', async () => {
    expect(await upgradeStatus(wsUrl())).toBe(401);
    expect(await upgradeStatus(wsUrl('not-a-token'))).toBe(401);
    expect(await upgradeStatus(wsUrl(admin), { origin: 'https://elsewhere.example' })).toBe(403);
    expect(await upgradeStatus(wsUrl(admin), { origin: api.baseUrl.replace('127.0.0.1', 'localhost') })).toBe(101);
  });

  it('authorizes each subscription and pushes a rebuild’s progress to projection:<name> subscribers', async () => {
    const alice = await connect(wsUrl(customer));
    const ops = await connect(wsUrl(admin));
    try {
      alice.send({ type: 'subscribe', channel: 'projection:products' });
      expect(await alice.next((message) => message.type === 'error')).toEqual({ channel: 'projection:products', type: 'error', data: { status: 403, detail: expect.any(String) } });
      alice.send({ type: 'subscribe', channel: 'order:someone-elses' });
      expect((await alice.next((message) => message.channel === 'order:someone-elses')).data).toMatchObject({ status: 404 });
      alice.send({ nonsense: true });
      expect((await alice.next((message) => message.channel === null)).data).toMatchObject({ status: 400 });

      ops.send({ type: 'subscribe', channel: 'projection:products' });
      await ops.next((message) => message.type === 'subscribed');
      const rebuildAt = (body?: string) =>
        fetch(`${api.baseUrl}/admin/projections/products/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) });
      // A rebuild takes no body: one that sends some is refused, and nothing starts.
      expect((await rebuildAt('{"from":0}')).status).toBe(400);
      const started = await rebuildAt();
      expect(started.status).toBe(202);
      const { rebuildId } = (await started.json()) as { rebuildId: string };
      const completed = await ops.next((message) => message.type === 'completed' || message.type === 'failed');
      expect(completed).toEqual({ channel: 'projection:products', type: 'completed', data: expect.objectContaining({ rebuildId, version: 2 }) });
      expect(alice.received.filter((message) => message.channel === 'projection:products' && message.type !== 'error')).toEqual([]);
    } finally {
      alice.socket.close();
      ops.socket.close();
    }
  });

  it('forgets a channel once no socket listens to it (tidings_live_channels)', async () => {
    const channels = async () => Number(/^tidings_live_channels (\d+)$/m.exec(await (await fetch(`${api.baseUrl}/metrics`)).text())?.[1]);
    // The sockets of the tests before have closed, or are closing: once they have, no channel is left.
    await eventually(async () => expect(await channels()).toBe(0));
    const before = 0;
    const ops = await connect(wsUrl(admin));
    const answered = (type: string, times: number) => eventually(async () => expect(ops.received.filter((message) => message.type === type)).toHaveLength(times));
    try {
      ops.send({ type: 'subscribe', channel: 'projection:orders' });
      await answered('subscribed', 1);
      expect(await channels()).toBe(before + 1);
      ops.send({ type: 'unsubscribe', channel: 'projection:orders' });
      await answered('unsubscribed', 1);
      expect(await channels()).toBe(before);
      ops.send({ type: 'subscribe', channel: 'projection:orders' });
      await answered('subscribed', 2);
      expect(await channels()).toBe(before + 1);
    } finally {
      ops.socket.close();
    }
    await eventually(async () => expect(await channels()).toBe(before));
  });

  it('answers a socket’s messages in the order sent, and checks the token again at each subscription', async () => {
    await graphql(admin, 'mutation { registerProduct(sku: "ws-order", name: "Kettle", priceCents: 2500) { sku } }');
    await graphql(admin, 'mutation { receiveStock(sku: "ws-order", quantity: 5) { onHand } }');
    const placed = await graphql(customer, 'mutation { placeOrder(items: [{ sku: "ws-order", quantity: 1 }], paymentToken: "tok_visa", shippingCountry: "NL") { orderId } }');
    const { orderId } = placed.data?.placeOrder as { orderId: string };
    const [shortLived] = await api.tokens([{ userId: 'alice', roles: ['customer'], ttlSeconds: 3 }]);
    const alice = await connect(wsUrl(shortLived));
    try {
      // A subscription to an order waits for the order's owner (read from its stream): the unsubscribe
      // sent right after it is answered after it, and leaves the socket hearing nothing of the order.
      alice.send({ type: 'subscribe', channel: `order:${orderId}` });
      alice.send({ type: 'unsubscribe', channel: `order:${orderId}` });
      alice.send({ type: 'subscribe', channel: 'feed' });
      await alice.next((message) => message.channel === 'feed');
      expect(alice.received.map(({ channel, type }) => `${type} ${channel}`)).toEqual([`subscribed order:${orderId}`, `unsubscribed order:${orderId}`, 'subscribed feed']);
      await eventually(async () => expect((await graphql(customer, `{ order(orderId: "${orderId}") { status } }`)).data?.order).toEqual({ status: 'confirmed' }), { timeoutMs: 20_000, intervalMs: 100 });
      // The saga's notification goes out as it settles, about when the read model shows the order confirmed.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(alice.received.filter((message) => message.channel === `order:${orderId}` && message.type === 'status')).toEqual([]);

      // By now the token has expired (it lived 3 s at most).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      alice.send({ type: 'subscribe', channel: 'projection:products' });
      expect(await alice.next((message) => message.channel === 'projection:products')).toEqual({
        channel: 'projection:products',
        type: 'error',
        data: { status: 401, detail: 'the token has expired' },
      });

      // Past its expiry the socket hears nothing more of what it subscribed to before: the next item of its feed ends it instead.
      const closed = new Promise<number>((resolve) => alice.socket.once('close', (code) => resolve(code)));
      expect((await graphql(customer, 'mutation { follow(userId: "ops") { position } }')).errors).toBeUndefined();
      expect((await graphql(admin, 'mutation { publishPost(text: "After the expiry") { postId } }')).errors).toBeUndefined();
      expect(await closed).toBe(4401);
      expect(alice.received.filter((message) => message.channel === 'feed' && message.type !== 'subscribed')).toEqual([]);
      expect(alice.received).toContainEqual({ channel: null, type: 'error', data: { status: 401, detail: 'the token has expired: connect again with a new one' } });
    } finally {
      alice.socket.close();
    }
  });

  it('serves the catalog over GraphQL with the same rules and errors as REST', async () => {
    const registered = await graphql(admin, 'mutation { registerProduct(sku: "gql-1", name: "Lamp", priceCents: 4500) { sku position } }');
    expect(registered.data?.registerProduct).toEqual({ sku: 'gql-1', position: expect.stringMatching(/^\d+$/) });
    const received = await graphql(admin, 'mutation { receiveStock(sku: "gql-1", quantity: 4) { onHand position } }');
    const { position } = received.data?.receiveStock as { position: string };
    const read = await graphql(customer, `{ product(sku: "gql-1", minPosition: "${position}") { sku onHand available version } }`);
    expect(read.data?.product).toEqual({ sku: 'gql-1', onHand: 4, available: 4, version: 1 });

    const duplicate = await graphql(admin, 'mutation { registerProduct(sku: "gql-1", name: "Lamp", priceCents: 4500) { sku } }');
    expect(duplicate.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/product-already-registered$/), title: 'Conflict' });
    const forbidden = await graphql(customer, 'mutation { receiveStock(sku: "gql-1", quantity: 4) { onHand } }');
    expect(forbidden.errors?.[0].extensions).toMatchObject({ status: 403 });
  });

  it('shows over GraphQL the prices REST takes, past Int’s 2^31 cents, and refuses the ones it refuses', async () => {
    const price = 2_500_000_000;
    const registered = await graphql(admin, `mutation { registerProduct(sku: "gql-yacht", name: "Yacht", priceCents: ${price}) { position } }`);
    const { position } = registered.data?.registerProduct as { position: string };
    const read = await graphql(customer, `{ product(sku: "gql-yacht", minPosition: "${position}") { priceCents } products(limit: 100, minPosition: "${position}") { items { sku priceCents } } }`);
    expect(read.errors).toBeUndefined();
    expect(read.data?.product).toEqual({ priceCents: price });
    expect((read.data?.products as { items: unknown[] }).items).toContainEqual({ sku: 'gql-yacht', priceCents: price });

    const before = await api.eventCount();
    for (const priceCents of [12.5, 2 ** 53]) {
      const refused = await graphql(admin, `mutation { registerProduct(sku: "gql-odd", name: "Odd", priceCents: ${priceCents}) { sku } }`);
      expect(refused.errors?.[0].extensions).toMatchObject({ status: 400 });
    }
    expect(await api.eventCount()).toBe(before);
  });

  it('refuses a document over the alias limit before any resolver runs: none of its mutations is applied', async () => {
    const before = await api.eventCount();
    const mutations = Array.from({ length: 21 }, (_, i) => `m${i}: registerProduct(sku: "alias-${i}", name: "A", priceCents: 1) { sku }`).join(' ');
    const refused = await graphql(admin, `mutation { ${mutations} }`);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.[0].message).toMatch(/aliases/i);
    expect(await api.eventCount()).toBe(before);
    const read = await graphql(admin, '{ product(sku: "alias-0") { sku } }');
    expect(read.data?.product).toBeNull();
  });

  it('refuses a query over the cost limit before any resolver runs, counting each page at its limit', async () => {
    const pages = (count: number) => Array.from({ length: count }, (_, i) => `p${i}: products(limit: 100) { items { sku name } }`).join(' ');
    const refused = await graphql(customer, `{ ${pages(4)} }`);
    expect(refused).toEqual({ data: null, errors: [expect.objectContaining({ message: expect.stringMatching(/cost 1204 is over the limit of 1000/) })] });
    // Every document refused before a resolver ran is a 400 whose errors say invalid-query, as REST's would.
    const documents = [`{ ${pages(4)} }`, '{ products(limit: 99999999999) { items { sku } } }', 'query a { products { nextCursor } } query b { products { nextCursor } }', '{ nope }', '{ products {'];
    // Sources that are JSON, which mercurius would otherwise run as a document AST, and an operation the document does not have.
    const oddities = [{ query: 123 }, { query: '{"kind":"Document","definitions":[]}' }, { query: '{ products { nextCursor } }', operationName: 'Nope' }];
    for (const body of [...documents.map((query) => ({ query })), ...oddities]) {
      const response = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const { errors } = (await response.json()) as { errors: { extensions?: unknown }[] };
      expect({ body, status: response.status, extensions: errors.map((error) => error.extensions) }).toEqual({
        body,
        status: 400,
        extensions: errors.map(() => ({ type: expect.stringMatching(/invalid-query$/), title: 'Invalid query', status: 400 })),
      });
    }
    // The same over GET, where mercurius looks for the operation before graphql-js would refuse it; and null, as clients send for no name, is costed as no name.
    const twoOperations = encodeURIComponent('query a { products { nextCursor } } query b { products { nextCursor } }');
    for (const query of [`query=${twoOperations}`, `query=${twoOperations}&operationName=c`]) {
      const response = await fetch(`${api.baseUrl}/graphql?${query}`, { headers: { authorization: `Bearer ${customer}` } });
      expect({ query, status: response.status, body: await response.json() }).toEqual({ query, status: 400, body: expect.objectContaining({ errors: [expect.objectContaining({ extensions: { type: expect.stringMatching(/invalid-query$/), title: 'Invalid query', status: 400 } })] }) });
    }
    const unnamed = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${customer}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ ${pages(4)} }`, operationName: null }) });
    expect({ status: unnamed.status, body: await unnamed.json() }).toEqual({ status: 400, body: expect.objectContaining({ errors: [expect.objectContaining({ message: expect.stringMatching(/cost 1204/) })] }) });
    const accepted = await graphql(customer, `{ ${pages(3)} }`);
    expect(accepted.errors).toBeUndefined();
    expect(Object.keys(accepted.data ?? {})).toEqual(['p0', 'p1', 'p2']);
  });

  it('streams a rebuild’s progress to a projectionStatus subscription over graphql-ws, for admins only', async () => {
    const graphqlUrl = `${api.baseUrl.replace('http', 'ws')}/graphql`;
    const subscription = 'subscription { projectionStatus(name: "products") { projection rebuildId type version events } }';
    const anonymous = graphqlWsClient(graphqlUrl);
    const impostor = graphqlWsClient(graphqlUrl, 'not-a-token');
    const alice = graphqlWsClient(graphqlUrl, customer);
    const ops = graphqlWsClient(graphqlUrl, admin);
    try {
      const refusedAnonymous = await firstResults(anonymous, subscription, 1);
      expect(JSON.stringify(refusedAnonymous.error)).toMatch(/bearer token/);
      const twoFields = await firstResults(ops, 'subscription { projectionStatus(name: "products") { type } again: projectionStatus(name: "products") { type } }', 1);
      expect(JSON.stringify(twoFields.error)).toMatch(/must select only one top level field/);
      const refusedCustomer = await firstResults(alice, subscription, 1);
      expect(JSON.stringify(refusedCustomer.error)).toMatch(/admin role/);
      const refusedToken = await firstResults(impostor, subscription, 1);
      expect(refusedToken.results).toEqual([]);
      expect(JSON.stringify(refusedToken.error)).toMatch(/the token is not valid/);

      const heard: Record<string, unknown>[] = [];
      ops.subscribe<{ projectionStatus: Record<string, unknown> }>(
        { query: subscription },
        { next: (result) => heard.push(result.data?.projectionStatus ?? { errors: result.errors }), error: (error) => heard.push({ error }), complete: () => undefined },
      );
      // The subscription is live on the server some moments after it is sent: start rebuilds until one is heard to its end.
      const started: string[] = [];
      await eventually(
        async () => {
          const answer = await graphql(admin, 'mutation { rebuildProjection(name: "products") { rebuildId } }');
          const rebuildId = (answer.data?.rebuildProjection as { rebuildId: string } | null)?.rebuildId;
          if (rebuildId) started.push(rebuildId);
          expect(heard.filter((status) => status.type === 'completed' && started.includes(status.rebuildId as string)).length).toBeGreaterThan(0);
        },
        { timeoutMs: 20_000, intervalMs: 1_000 },
      );
      const [completed] = heard.filter((status) => status.type === 'completed');
      expect(completed).toEqual({ projection: 'products', rebuildId: expect.any(String), type: 'completed', version: expect.any(Number), events: expect.any(Number) });
      expect(started).toContain(completed.rebuildId);
      expect(heard.every((status) => ['progress', 'completed'].includes(status.type as string) && status.projection === 'products')).toBe(true);

      // A notification the schema cannot answer (another version's, with no rebuildId) is that event's internal error, logged; the subscription goes on.
      const nats = await connectNats({ servers: testNatsUrl() });
      try {
        publishNotification(nats, eventTopology(namespace, 4), { channel: 'projection:products', type: 'progress', data: { events: 1 } });
        await nats.flush();
      } finally {
        await nats.close();
      }
      const internal = { errors: [expect.objectContaining({ message: 'the request failed on our side; it has been logged', extensions: { type: expect.stringMatching(/internal$/), title: 'Internal error', status: 500 } })] };
      await eventually(async () => expect(heard).toContainEqual(internal), { timeoutMs: 5_000, intervalMs: 50 });
      await eventually(async () => expect(api.output()).toMatch(/projectionStatus\.rebuildId failed \(/), { timeoutMs: 5_000, intervalMs: 50 });
    } finally {
      await Promise.all([anonymous, impostor, alice, ops].map((client) => client.dispose()));
    }
  });

  it('checks a graphql-ws connection’s token again at each subscription: one that has expired since starts nothing', async () => {
    const [shortLived] = await api.tokens([{ userId: 'alice', roles: ['customer'], ttlSeconds: 3 }]);
    // One connection for both subscriptions: kept open while none runs.
    const client = createClient({
      url: `${api.baseUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazyCloseTimeout: 30_000,
      connectionParams: { authorization: `Bearer ${shortLived}` },
    });
    let connections = 0;
    client.on('connected', () => connections++);
    try {
      const subscription = 'subscription { projectionStatus(name: "products") { type } }';
      expect(JSON.stringify((await firstResults(client, subscription, 1)).error)).toMatch(/admin role/);
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      expect(JSON.stringify((await firstResults(client, subscription, 1)).error)).toMatch(/the token has expired/);
      expect(connections).toBe(1);
    } finally {
      await client.dispose();
    }
  });

  it('holds a graphql-ws connection to 100 subscriptions at once, as a /ws socket to 100 channels', async () => {
    const client = graphqlWsClient(`${api.baseUrl.replace('http', 'ws')}/graphql`, customer);
    const refusals: unknown[] = [];
    const stops: (() => void)[] = [];
    try {
      // Subscriptions refused as they start (not an admin's) hold nothing.
      const forbidden: unknown[] = [];
      for (let i = 0; i < 100; i++) client.subscribe({ query: 'subscription { projectionStatus(name: "products") { type } }' }, { next: () => undefined, error: (error) => forbidden.push(error), complete: () => undefined });
      await eventually(() => expect(forbidden).toHaveLength(100));
      for (let i = 0; i <= 100; i++) stops.push(client.subscribe({ query: 'subscription { feedUpdated { postId } }' }, { next: () => undefined, error: (error) => refusals.push(error), complete: () => undefined }));
      await eventually(() => expect(refusals).toHaveLength(1));
      expect(JSON.stringify(refusals[0])).toMatch(/at most 100 subscriptions per connection/);
      // The others stay: no second refusal comes.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(refusals).toHaveLength(1);
    } finally {
      for (const stop of stops) stop();
      await client.dispose();
    }
  });

  it('holds a user to 20 sockets at once on /ws: the 21st upgrade is 429 until one closes', async () => {
    const [tabs] = await api.tokens([{ userId: 'many-tabs', roles: ['customer'] }]);
    const open = await Promise.all(
      Array.from({ length: 20 }, () => new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(tabs));
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      })),
    );
    try {
      expect(await upgradeStatus(wsUrl(tabs))).toBe(429);
      // Plain GETs of /ws open no socket and count for nothing.
      for (let i = 0; i < 25; i++) expect((await fetch(wsUrl(customer).replace('ws', 'http'))).status).toBe(404);
      // Another user is not held to this one's sockets.
      expect(await upgradeStatus(wsUrl(customer))).toBe(101);
      open.pop()?.close();
      await eventually(async () => expect(await upgradeStatus(wsUrl(tabs))).toBe(101));
    } finally {
      for (const socket of open) socket.close();
    }
  });

  it('holds a client address to 200 graphql-ws sockets at once: the 201st upgrade is 429 until one closes', async () => {
    const graphqlUrl = `${api.baseUrl.replace('http', 'ws')}/graphql`;
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const open = await Promise.all(
      Array.from({ length: 200 }, () => new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(graphqlUrl, 'graphql-transport-ws', { headers: from('203.0.113.9') });
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      })),
    );
    try {
      expect(await upgradeStatus(graphqlUrl, from('203.0.113.9'))).toBe(429);
      // Another address is not held to this one's sockets.
      expect(await upgradeStatus(graphqlUrl, from('203.0.113.10'))).toBe(101);
      open.pop()?.terminate();
      await eventually(async () => expect(await upgradeStatus(graphqlUrl, from('203.0.113.9'))).toBe(101));
    } finally {
      // Ended at once: a closing handshake the server never finishes would keep the test's process alive.
      for (const socket of open) socket.terminate();
    }
  });
});
