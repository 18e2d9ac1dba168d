import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

/** The statuses of `count` GETs of /products, one after another. */
async function statusesOf(baseUrl: string, count: number, headers: Record<string, string>): Promise<number[]> {
  const answers: number[] = [];
  for (let i = 0; i < count; i++) answers.push((await fetch(`${baseUrl}/products`, { headers })).status);
  return answers;
}

const PER_IP = 5;
const PER_USER = 8;

describe('rate limits (API.md: per user, and per IP for anonymous calls, with Retry-After)', () => {
  const api = useTidingsApi({ TIDINGS_RATE_LIMIT_IP: String(PER_IP), TIDINGS_RATE_LIMIT_USER: String(PER_USER) });
  let alice: string;
  let bob: string;
  let admin: string;

  beforeAll(async () => {
    [alice, bob, admin] = await api.tokens([
      { userId: 'alice', roles: ['customer'] },
      { userId: 'bob', roles: ['customer'] },
      { userId: 'ops', roles: ['admin'] },
    ]);
  });

  const get = (path: string, token?: string) => fetch(`${api.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const statuses = (count: number, token?: string) => statusesOf(api.baseUrl, count, token ? { authorization: `Bearer ${token}` } : {});

  it('refuses anonymous calls over the per-IP limit with 429, problem+json and Retry-After', async () => {
    expect(await statuses(PER_IP)).toEqual(Array(PER_IP).fill(401));
    const refused = await get('/products');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ status: 429, type: expect.stringMatching(/rate-limited$/) });
    // No proxy is trusted by default: a client cannot name another address for itself, and an operator is told a proxy seems to be in front.
    expect(await statusesOf(api.baseUrl, 1, { 'x-forwarded-for': '198.51.100.1' })).toEqual([429]);
    await eventually(() => expect(api.output()).toMatch(/requests come through a proxy at 127\.0\.0\.1 \(X-Forwarded-For\) that TIDINGS_TRUST_PROXY does not name/));
  });

  it('counts each user on their own, not by the IP they share', async () => {
    expect(await statuses(PER_USER, alice)).toEqual(Array(PER_USER).fill(200));
    expect((await get('/products', alice)).status).toBe(429);
    expect((await get('/products', bob)).status).toBe(200);
    // GraphQL is limited alike, and says so with the same status.
    const overGraphql = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(overGraphql.status).toBe(429);
    expect(Number(overGraphql.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await overGraphql.json()).toMatchObject({ data: null, errors: [{ extensions: { status: 429, type: expect.stringMatching(/rate-limited$/), title: 'Too many requests' } }] });
  });

  it('appends nothing for a command refused by the limit, and leaves health and metrics outside it', async () => {
    for (let i = 0; i < PER_USER; i++) await get('/admin/projections', admin);
    const before = await api.eventCount();
    const refused = await fetch(`${api.baseUrl}/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'limited-1', name: 'Limited', priceCents: 100 }),
    });
    expect(refused.status).toBe(429);
    expect(await api.eventCount()).toBe(before);
    expect((await get('/health')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
  });
});

describe('rate limits behind a proxy (TIDINGS_TRUST_PROXY)', () => {
  const api = useTidingsApi({ TIDINGS_RATE_LIMIT_IP: String(PER_IP), TIDINGS_TRUST_PROXY: 'loopback' });
  const from = (address: string) => ({ 'x-forwarded-for': address });

  it('counts anonymous calls per client address, as the trusted proxy forwards it', async () => {
    expect(await statusesOf(api.baseUrl, PER_IP + 1, from('198.51.100.1'))).toEqual([...Array(PER_IP).fill(401), 429]);
    // Another client behind the same proxy has a limit of its own; a chain of trusted proxies is seen through.
    expect(await statusesOf(api.baseUrl, 1, from('198.51.100.2'))).toEqual([401]);
    expect(await statusesOf(api.baseUrl, 1, from('198.51.100.1, 127.0.0.1'))).toEqual([429]);
  });
});
