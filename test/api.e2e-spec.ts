import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { PostgresEventStore } from '@tidings/event-store';
import { productsProjection } from '@tidings/inventory';
import { currentVersion, resumeProjection } from '@tidings/read-models';
import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

/**
 * The HTTP API as a client sees it (API.md): the built `tidings start` with the api, relay and
 * projector roles in its own process, spoken to over real HTTP only.
 */
describe('tidings HTTP API', () => {
  let store: PostgresEventStore | undefined;
  // Declared before the harness's: closed before it stops the process and drops the database.
  afterAll(() => store?.close());
  const api = useTidingsApi();
  type Caller = 'anonymous' | 'customerA' | 'customerB' | 'admin';
  type Answer<Body = unknown> = { status: number; headers: Headers; body: Body };
  type CallOptions = { as?: Caller; token?: string; json?: unknown; raw?: string | Uint8Array; contentType?: string; headers?: Record<string, string> };

  const tokens: Record<Caller, string | undefined> = { anonymous: undefined, customerA: undefined, customerB: undefined, admin: undefined };
  const badTokens: Record<'expired' | 'foreign' | 'roleless', string> = { expired: '', foreign: '', roleless: '' };
  const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

  /** One request; `json` is sent as JSON (any value), `raw` as it is. */
  const call = async <Body = unknown>(method: string, path: string, options: CallOptions = {}): Promise<Answer<Body>> => {
    const token = options.token ?? (options.as ? tokens[options.as] : undefined);
    const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
    let body: string | Uint8Array | undefined;
    if ('json' in options) body = JSON.stringify(options.json);
    if (options.raw !== undefined) body = options.raw;
    if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const response = await fetch(`${api.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (metrics): the text itself.
    }
    return { status: response.status, headers: response.headers, body: parsed as Body };
  };

  /**
   * An admin's POST whose headers declare a JSON body of `bytes` and which sends none of it:
   * the server answers from the Content-Length alone and closes the connection. (Sending the body
   * as well races that close: the client's next write may fail with EPIPE before it reads the answer.)
   */
  const declareBody = (path: string, bytes: number) =>
    new Promise<Answer>((resolve, reject) => {
      const sending = httpRequest(`${api.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json', 'content-length': String(bytes) },
      });
      sending.on('error', reject);
      sending.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          sending.destroy();
          const headers = new Headers(Object.entries(response.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value] as [string, string]] : [])));
          resolve({ status: response.statusCode ?? 0, headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        });
      });
      sending.flushHeaders();
    });

  type Written = { sku: string; position: string };
  const register = (sku: string, extra: object = {}) => call<Written>('POST', '/products', { as: 'admin', json: { sku, name: `Product ${sku}`, priceCents: 1_999, ...extra } });
  const receive = (sku: string, quantity: unknown, headers: Record<string, string> = {}) =>
    call<Written>('POST', `/products/${encodeURIComponent(sku)}/stock`, { as: 'admin', json: { quantity }, headers });

  const expectProblem = (answer: Answer, status: number, typeSuffix?: string) => {
    expect({ status: answer.status, contentType: answer.headers.get('content-type') }).toEqual({
      status,
      contentType: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(answer.body).toEqual({
      type: expect.stringMatching(typeSuffix ? new RegExp(`^https://tidings\\.dev/problems/.*${typeSuffix}$`) : /^https:\/\/tidings\.dev\/problems\/[a-z-]+$/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      ...((answer.body as { errors?: unknown } | undefined)?.errors !== undefined ? { errors: expect.arrayContaining([{ path: expect.any(String), message: expect.any(String) }]) } : {}),
    });
  };

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: api.database.url });
    [tokens.customerA, tokens.customerB, tokens.admin, badTokens.expired, badTokens.foreign, badTokens.roleless] = await api.tokens([
      { userId: 'customer-a', roles: ['customer'] },
      { userId: 'customer-b', roles: ['customer'] },
      { userId: 'admin-1', roles: ['admin'] },
      { userId: 'customer-a', roles: ['customer'], ttlSeconds: -60 },
      { userId: 'admin-1', roles: ['admin'], secret: 'another-secret-of-at-least-32-characters' },
      { userId: 'nobody', roles: [] },
    ]);
  });

  it('registers a product, receives stock under If-Match and reads its own writes at once; pages walk every product once', async () => {
    const sku = unique('flow');
    const registered = await register(sku);
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({ sku, position: expect.stringMatching(/^\d+$/) });
    expect(registered.headers.get('x-position')).toBe(registered.body.position);
    expect(registered.headers.get('etag')).toMatch(/^"\d+"$/);

    const first = await receive(sku, 5);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ sku, onHand: 5, available: 5, position: first.headers.get('x-position') });
    const second = await receive(sku, 7, { 'if-match': first.headers.get('etag')! });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ sku, onHand: 12, available: 12, position: second.headers.get('x-position') });
    expect(BigInt(second.body.position)).toBeGreaterThan(BigInt(first.body.position));

    const read = await call('GET', `/products/${sku}?minPosition=${second.body.position}`, { as: 'customerA' });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ sku, name: `Product ${sku}`, priceCents: 1_999, currency: 'USD', onHand: 12, reserved: 0, available: 12 });
    expect(read.headers.get('etag')).toBe(second.headers.get('etag'));

    // The first answer's ETag is stale now: the change is refused and nothing moves.
    expectProblem(await receive(sku, 1, { 'if-match': first.headers.get('etag')! }), 409, 'wrong-expected-version');
    expect((await call('GET', `/products/${sku}`, { as: 'customerB' })).body).toMatchObject({ onHand: 12 });
    // `*`: whatever the version, as long as there is a product (RFC 9110).
    expect((await receive(sku, 1, { 'if-match': '*' })).body).toMatchObject({ onHand: 13 });
    expectProblem(await receive(unique('never-registered'), 1, { 'if-match': '*' }), 404, 'product-not-found');

    let last = '0';
    for (let index = 0; index < 5; index++) last = (await register(unique(`page${index}`))).body.position;
    const seen: string[] = [];
    let path = `/products?limit=2&minPosition=${last}`;
    for (let pages = 1; ; pages++) {
      const page = await call<{ items: { sku: string }[]; nextCursor: string | null }>('GET', path, { as: 'customerA' });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item) => item.sku));
      if (page.body.nextCursor === null) break;
      expect(pages).toBeLessThan(10);
      path = `/products?limit=2&cursor=${page.body.nextCursor}`;
      // A list's cursor is its own: the orders list refuses it rather than paging from a sku.
      expect(await call('GET', `/orders?cursor=${page.body.nextCursor}`, { as: 'admin' })).toMatchObject({ status: 400, body: { errors: [{ path: 'query.cursor', message: 'not a cursor this API returned for orders' }] } });
    }
    const { rows } = await api.pool.query<{ sku: string }>('SELECT sku FROM products ORDER BY sku');
    expect(seen).toEqual(rows.map((row) => row.sku));
    expect(seen).toHaveLength(6);
  });

  it('answers every route by its access rule: anonymous 401, customers 403 on admin routes, admin the success code', async () => {
    const sku = unique('matrix');
    const { position } = (await register(sku)).body;
    type Route = { method: string; path: string; access: 'public' | 'authenticated' | 'admin'; success: number; json?: () => unknown };
    const routes: Route[] = [
      { method: 'GET', path: '/health', access: 'public', success: 200 },
      { method: 'GET', path: '/health/ready', access: 'public', success: 200 },
      { method: 'GET', path: '/metrics', access: 'public', success: 200 },
      { method: 'GET', path: `/products/${sku}?minPosition=${position}`, access: 'authenticated', success: 200 },
      { method: 'GET', path: '/products?limit=5', access: 'authenticated', success: 200 },
      { method: 'POST', path: '/products', access: 'admin', success: 201, json: () => ({ sku: unique('matrix'), name: 'Matrix', priceCents: 1 }) },
      { method: 'POST', path: `/products/${sku}/stock`, access: 'admin', success: 200, json: () => ({ quantity: 1 }) },
      { method: 'GET', path: '/admin/projections', access: 'admin', success: 200 },
      { method: 'POST', path: '/admin/projections/products/rebuild', access: 'admin', success: 202 },
      { method: 'GET', path: '/admin/dead-letters', access: 'admin', success: 200 },
      { method: 'POST', path: '/admin/dead-letters/999999/replay', access: 'admin', success: 404 },
      { method: 'DELETE', path: '/admin/dead-letters/999999', access: 'admin', success: 404 },
    ];
    const callers: Caller[] = ['anonymous', 'customerA', 'customerB', 'admin'];
    const expected = (route: Route, caller: Caller) =>
      route.access === 'public' ? route.success : caller === 'anonymous' ? 401 : route.access === 'admin' && caller !== 'admin' ? 403 : route.success;

    const want: Record<string, Record<string, number>> = {};
    const got: Record<string, Record<string, number>> = {};
    for (const route of routes) {
      const name = `${route.method} ${route.path}`;
      want[name] = {};
      got[name] = {};
      for (const caller of callers) {
        const answer = await call(route.method, route.path, { as: caller, ...(route.json ? { json: route.json() } : {}) });
        want[name][caller] = expected(route, caller);
        got[name][caller] = answer.status;
        if (answer.status >= 400) expectProblem(answer, answer.status);
        if (answer.status === 401) expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(got).toEqual(want);

    // A bad credential is refused everywhere, public routes included, never taken for anonymous.
    const badCredentials: Record<string, string>[] = [
      { authorization: 'Bearer not-a-jwt' },
      { authorization: `Bearer ${badTokens.expired}` },
      { authorization: `Bearer ${badTokens.foreign}` },
      { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      { authorization: tokens.admin! },
      { authorization: 'Bearer ' },
      // Signed with the deployment's secret, but whose subject is no user id: a number or a list would reach events as it is.
      { authorization: `Bearer ${signedWithClaims(api.secret, { sub: 123, roles: ['admin'] })}` },
      { authorization: `Bearer ${signedWithClaims(api.secret, { sub: ['admin-1'], roles: ['admin'] })}` },
    ];
    for (const headers of badCredentials) {
      for (const path of ['/products', '/admin/projections', '/health']) expectProblem(await call('GET', path, { headers }), 401, 'unauthorized');
    }

    // A signed-in user without roles reads, but is no admin.
    expect((await call('GET', '/products', { token: badTokens.roleless })).status).toBe(200);
    expectProblem(await call('GET', '/admin/dead-letters', { token: badTokens.roleless }), 403, 'forbidden');

    // The rebuild started above runs on after its 202: let it finish before the next test.
    await eventually(
      async () => {
        const projections = await call('GET', '/admin/projections', { as: 'admin' });
        expect(projections.body).toContainEqual(expect.objectContaining({ name: 'products', status: 'running', lag: '0' }));
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  });

  it('refuses bad requests with problem+json and appends nothing', async () => {
    const sku = unique('refused');
    const etag = (await register(sku)).headers.get('etag')!;
    const valid = { sku: unique('never'), name: 'Never', priceCents: 100 };
    const cases: [string, () => Promise<Answer>, number, string][] = [
      ['unknown field', () => register(unique('x'), { colour: 'red' }), 400, 'invalid-request'],
      ['negative price', () => register(unique('x'), { priceCents: -1 }), 400, 'invalid-request'],
      ['fractional price', () => register(unique('x'), { priceCents: 1.5 }), 400, 'invalid-request'],
      ['missing name', () => call('POST', '/products', { as: 'admin', json: { sku: unique('x'), priceCents: 1 } }), 400, 'invalid-request'],
      ['blank name', () => register(unique('x'), { name: '   ' }), 400, 'invalid-request'],
      ['lowercase currency', () => register(unique('x'), { currency: 'usd' }), 400, 'invalid-request'],
      ['sku with a space', () => call('POST', '/products', { as: 'admin', json: { ...valid, sku: 'a b' } }), 400, 'invalid-request'],
      ['array body', () => call('POST', '/products', { as: 'admin', json: [valid] }), 400, 'invalid-request'],
      ['no body', () => call('POST', '/products', { as: 'admin' }), 400, 'invalid-request'],
      ['quantity 0', () => receive(sku, 0), 400, 'invalid-request'],
      ['quantity 1,000,001', () => receive(sku, 1_000_001), 400, 'invalid-request'],
      ['quantity as a string', () => receive(sku, '5'), 400, 'invalid-request'],
      ['malformed If-Match', () => receive(sku, 1, { 'if-match': 'latest' }), 400, 'invalid-request'],
      ['stale If-Match', () => receive(sku, 1, { 'if-match': `"${Number(etag.slice(1, -1)) + 5}"` }), 409, 'wrong-expected-version'],
      ['non-JSON body', () => call('POST', '/products', { as: 'admin', raw: '{"sku": "x", name: }' }), 400, 'invalid-request'],
      ['body not declared as JSON', () => call('POST', '/products', { as: 'admin', raw: `<sku>${valid.sku}</sku>`, contentType: 'application/xml' }), 415, 'unsupported-media-type'],
      ['form body', () => call('POST', '/products', { as: 'admin', raw: `sku=${valid.sku}&name=Never&priceCents=100`, contentType: 'application/x-www-form-urlencoded' }), 415, 'unsupported-media-type'],
      ['JSON sent as text', () => call('POST', '/products', { as: 'admin', raw: JSON.stringify(valid), contentType: 'text/plain' }), 415, 'unsupported-media-type'],
      ['CSV to a route that takes JSON', () => call('POST', '/products', { as: 'admin', raw: `sku,name\n${valid.sku},Never`, contentType: 'text/csv' }), 415, 'unsupported-media-type'],
      ['JSON in Latin-1 (no UTF-8)', () => call('POST', '/products', { as: 'admin', raw: Buffer.from(JSON.stringify({ ...valid, name: 'Café' }), 'latin1') }), 400, 'invalid-request'],
      ['JSON declared UTF-16', () => call('POST', '/products', { as: 'admin', raw: JSON.stringify(valid), contentType: 'application/json; charset=utf-16' }), 415, 'unsupported-media-type'],
      ['2 MiB body', () => declareBody('/products', 2 * 1024 * 1024), 413, 'payload-too-large'],
      ['path parameter over 100 characters', () => call('GET', `/products/${'a'.repeat(3000)}`, { as: 'admin' }), 414, 'uri-too-long'],
      ['broken percent-encoding', () => call('GET', '/products/%E0%A4%A', { as: 'admin' }), 400, 'invalid-request'],
      ['request line over 16 KiB', () => call('GET', `/products?limit=${'1'.repeat(20_000)}`, { as: 'admin' }), 431, 'request-header-fields-too-large'],
      ['duplicate sku', () => register(sku), 409, 'product-already-registered'],
      ['stock for an unknown sku', () => receive(unique('ghost'), 3), 404, 'product-not-found'],
      ['sku path that is no sku', () => receive('no sku!', 3), 400, 'invalid-request'],
      ['unknown route', () => call('POST', '/products/x/y/z', { as: 'admin', json: {} }), 404, 'not-found'],
      ['dead letters of a consumer group nothing consumes as', () => call('GET', '/admin/dead-letters?group=projection.product', { as: 'admin' }), 404, 'not-found'],
    ];
    const before = await api.eventCount();
    const outcomes: Record<string, number> = {};
    for (const [name, send, status, typeSuffix] of cases) {
      const answer = await send();
      outcomes[name] = answer.status;
      if (answer.status === status) expectProblem(answer, status, typeSuffix);
    }
    expect(outcomes).toEqual(Object.fromEntries(cases.map(([name, , status]) => [name, status])));
    expect(await api.eventCount()).toBe(before);
    expect(await call('GET', '/admin/dead-letters?group=projection.products', { as: 'admin' })).toMatchObject({ status: 200, body: [] });
    // mercurius would read application/graphql leniently (U+FFFD for these bytes): queries come as JSON. GraphQL answers its refusals in its own shape.
    const asGraphql = await call('POST', '/graphql', { as: 'admin', raw: Buffer.from('{ product(sku: "Café") { sku } }', 'latin1'), contentType: 'application/graphql' });
    expect(asGraphql).toMatchObject({ status: 415, body: { errors: [{ extensions: { type: expect.stringMatching(/unsupported-media-type$/), status: 415 } }] } });
    // A query parameter given twice is named as such, not as a list that is no number.
    expect((await call('GET', '/products?limit=1&limit=2', { as: 'admin' })).body).toMatchObject({ status: 400, errors: [{ path: 'query.limit', message: 'given more than once' }] });
    // And $all, once it shows everything, shows no more than that either.
    await eventually(async () => expect(await store!.readAll({ limit: 1_000_000 })).toHaveLength(before), { timeoutMs: 10_000 });
    // UTF-8 by its other names is UTF-8.
    expect((await call('POST', '/products', { as: 'admin', json: { ...valid, sku: unique('utf8') }, contentType: 'application/json; charset=utf8' })).status).toBe(201);
  });

  it('never answers arbitrary JSON bodies with a 5xx, and appends only for what it accepts', async () => {
    const sku = unique('fuzz');
    expect((await register(sku)).status).toBe(201);
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    // Well-formed text only: U+0000 and lone surrogates are the known bugs further down.
    const text = fc.string({ unit: 'grapheme', maxLength: 70 });
    const skuLike = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    const junk = fc.oneof(anyJson, text, fc.integer(), fc.double(), fc.constantFrom(-1, 1.5, Number.MAX_SAFE_INTEGER + 2, 1_000_001, 'usd'));
    /** Mostly a valid value, sometimes junk: a good share of the bodies is accepted. */
    const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: junk });
    /** Now and then one more field, possibly a known one overwritten or `__proto__`. */
    const withStray = <T extends object>(body: fc.Arbitrary<T>) =>
      fc
        .tuple(body, fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('sku', 'extra', '__proto__'), anyJson) }))
        .map(([value, stray]) => (stray ? { ...value, [stray[0]]: stray[1] } : value));
    const registerBody = withStray(
      fc.record(
        {
          sku: mostly(fc.oneof({ weight: 4, arbitrary: skuLike }, { weight: 1, arbitrary: fc.constant(sku) })),
          name: mostly(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 70 })),
          priceCents: mostly(fc.nat()),
          currency: mostly(fc.constantFrom('USD', 'EUR', 'JPY')),
        },
        { requiredKeys: ['sku', 'name', 'priceCents'] },
      ),
    );
    const stockBody = withStray(fc.record({ quantity: mostly(fc.integer({ min: 1, max: 1_000_000 })) }));
    const stockPath = fc.oneof({ weight: 4, arbitrary: fc.constant(sku) }, { weight: 1, arbitrary: skuLike }, { weight: 1, arbitrary: text });
    const request = fc.oneof(
      fc.record({ path: fc.constant('/products'), body: fc.oneof({ weight: 4, arbitrary: registerBody }, { weight: 1, arbitrary: anyJson }) }),
      fc.record({ path: stockPath.map((target) => `/products/${encodeURIComponent(target)}/stock`), body: fc.oneof({ weight: 4, arbitrary: stockBody }, { weight: 1, arbitrary: anyJson }) }),
    );

    const started = Date.now();
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ path, body }) => {
        const before = await api.eventCount();
        const answer = await call('POST', path, { as: 'admin', json: body });
        statuses.add(answer.status);
        expect(answer.status).toBeLessThan(500);
        if (answer.status >= 400) {
          expectProblem(answer, answer.status);
          expect(await api.eventCount()).toBe(before);
        } else {
          expect([200, 201]).toContain(answer.status);
          expect(await api.eventCount()).toBe(before + 1);
        }
      }),
      { numRuns: 150, interruptAfterTimeLimit: 50_000 },
    );
    // The bodies reached both sides of the line: accepted and refused.
    expect([...statuses].some((status) => status < 300) && [...statuses].some((status) => status >= 400)).toBe(true);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('takes over a request cut off by a crash under its command id and time: views sent without a time are counted once', async () => {
    const key = unique('key');
    const video = unique('cut-off');
    const send = () => call<{ accepted: number; position: string }>('POST', '/views', { json: { views: [{ videoId: video }, { videoId: video }] }, headers: { 'idempotency-key': key } });
    const first = await send();
    expect(first.status).toBe(202);
    const before = await api.eventCount();
    // As a process killed after its append and before its answer leaves the key: claimed, unanswered, and a while ago.
    await api.pool.query(`UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL, created_at = now() - interval '31 seconds' WHERE key = $1`, [key]);

    const takenOver = await send();
    expect({ status: takenOver.status, body: takenOver.body }).toEqual({ status: 202, body: first.body });
    expect(await api.eventCount()).toBe(before);
    const counted = await call<{ total: number }>('GET', `/videos/${video}/views?granularity=hour&minPosition=${first.body.position}`, { as: 'admin' });
    expect(counted.body.total).toBe(2);

    // Taken over with other content (here: another time), the request clashes with its stored events; the clash is the key's answer from then on, and nothing is recorded twice.
    await api.pool.query(
      `UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL, created_at = now() - interval '31 seconds', received_at = received_at - interval '1 minute' WHERE key = $1`,
      [key],
    );
    expectProblem(await send(), 409, 'event-id-conflict');
    const again = await send();
    expectProblem(again, 409, 'event-id-conflict');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await api.eventCount()).toBe(before);
  });

  it('replays a request retried under its Idempotency-Key, appends it once, and refuses the key for another body', async () => {
    const key = unique('key');
    const sku = unique('idem');
    const send = (body: object, idempotencyKey = key) => call('POST', '/products', { as: 'admin', json: body, headers: { 'idempotency-key': idempotencyKey } });
    const before = await api.eventCount();

    const first = await send({ sku, name: 'Once', priceCents: 500 });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same body with its keys in another order is the same request.
    const retried = await send({ priceCents: 500, name: 'Once', sku });
    expect({ status: retried.status, body: retried.body }).toEqual({ status: first.status, body: first.body });
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.headers.get('x-position')).toBe(first.headers.get('x-position'));
    expect(retried.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(await api.eventCount()).toBe(before + 1);

    expectProblem(await send({ sku, name: 'Twice', priceCents: 500 }), 422, 'idempotency-key-reused');

    // A refused request leaves its key free for the corrected one.
    const freshKey = unique('key');
    const fresh = unique('idem');
    expectProblem(await send({ sku: fresh, name: 'Fixed', priceCents: -5 }, freshKey), 400);
    expect((await send({ sku: fresh, name: 'Fixed', priceCents: 5 }, freshKey)).status).toBe(201);
    expect(await api.eventCount()).toBe(before + 2);

    // Retries racing the first request: each is answered as the first, or told it is still running.
    const racedKey = unique('key');
    const raced = { sku: unique('idem'), name: 'Raced', priceCents: 7 };
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(raced, racedKey)));
    const created = answers.filter((answer) => answer.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const answer of answers) {
      if (answer.status === 201) expect(answer.body).toEqual(created[0].body);
      else expectProblem(answer, 409, 'request-in-progress');
    }
    expect(await api.eventCount()).toBe(before + 3);
    await eventually(async () => expect((await store!.readAll({ limit: 1_000_000 })).length).toBe(await api.eventCount()), { timeoutMs: 10_000 });
  });

  /** Input PostgreSQL cannot store (U+0000, a lone surrogate) once reached the database and came back as a 500. */
  it.each([
    ['a product name with U+0000', () => register(unique('nul'), { name: 'a\u0000b' })],
    ['a product name with a lone surrogate', () => register(unique('surrogate'), { name: 'a\ud800b' })],
    ['a list cursor that decodes to U+0000 (AAAA)', () => call('GET', '/products?cursor=AAAA', { as: 'customerA' })],
    ['a minPosition beyond any bigint', () => call('GET', '/products?minPosition=9999999999999999999', { as: 'customerA' })],
  ])('refuses %s with a 400', async (_name, send) => {
    const before = await api.eventCount();
    expectProblem(await send(), 400, 'invalid-request');
    expect(await api.eventCount()).toBe(before);
  });

  it('counts as lag only what a projection has yet to apply: events of other categories move the head, not its lag', async () => {
    type Status = { name: string; position: string; headPosition: string; lag: string };
    const products = async () => (await call<Status[]>('GET', '/admin/projections', { as: 'admin' })).body.find((status) => status.name === 'products') as Status;
    const registered = await register(unique('lagging'));
    await eventually(async () => expect(await products()).toMatchObject({ position: registered.body.position, lag: '0' }), { timeoutMs: 20_000, intervalMs: 100 });
    // Views are another category: the products projection has nothing to do for them.
    const viewed = await call<{ position: string }>('POST', '/views', { json: { views: [{ videoId: unique('lag-video') }, { videoId: unique('lag-video') }] } });
    expect(viewed.status).toBe(202);
    expect((await call('GET', `/videos/trending?limit=1&minPosition=${viewed.body.position}`, { as: 'admin' })).status).toBe(200);
    await eventually(
      async () => {
        const status = await products();
        expect(BigInt(status.headPosition)).toBeGreaterThanOrEqual(BigInt(viewed.body.position));
        expect(status).toMatchObject({ position: registered.body.position, lag: '0' });
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect((await call<string>('GET', '/metrics')).body).toMatch(/^tidings_projection_lag_events\{group="projection.products"\} 0$/m);
  });

  it('counts a partition blocked at a failing event in the metrics until the projection is resumed', async () => {
    const blockedPartitions = async () => Number(/^tidings_projection_blocked_partitions\{group="projection.products"\} (\d+)$/m.exec((await call<string>('GET', '/metrics')).body)?.[1]);
    expect(await blockedPartitions()).toBe(0);
    // A read model that refuses one product: the products projection (policy block) stops its partition at it.
    const table = `products_v${await currentVersion(api.pool, 'products')}`;
    await api.pool.query(`ALTER TABLE ${table} ADD CONSTRAINT no_poison CHECK (sku NOT LIKE 'poison-%')`);
    try {
      const poison = await register(unique('poison'));
      expect(poison.status).toBe(201);
      await eventually(async () => expect(await blockedPartitions()).toBe(1), { timeoutMs: 30_000, intervalMs: 200 });
    } finally {
      await api.pool.query(`ALTER TABLE ${table} DROP CONSTRAINT no_poison`);
      await resumeProjection(api.pool, productsProjection);
    }
    await eventually(async () => expect(await blockedPartitions()).toBe(0), { timeoutMs: 30_000, intervalMs: 200 });
  });

  it('reports readiness with its checks and Prometheus metrics of requests and commands', async () => {
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgresql: 'up', nats: 'up', eventStore: 'up' } });
    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });

    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('tidings_http_request_duration_seconds');
    expect(metrics.body).toMatch(/^tidings_http_request_duration_seconds_count\{method="POST",route="\/products",status="201"\} \d+/m);
    expect(metrics.body).toMatch(/^tidings_commands_total\{command="RegisterProduct",outcome="accepted"\} \d+/m);
    expect(metrics.body).toMatch(/^tidings_commands_total\{command="RegisterProduct",outcome="rejected"\} \d+/m);
    expect(metrics.body).toMatch(/^tidings_commands_total\{command="ReceiveStock",outcome="conflict"\} \d+/m);
  });
});

/** An HS256 token with exactly these claims (and an hour to live), as anyone holding the secret could sign it. */
function signedWithClaims(secret: string, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...claims, exp: Math.floor(Date.now() / 1000) + 3_600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
