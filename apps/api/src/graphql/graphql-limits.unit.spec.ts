import { buildSchema, getIntrospectionQuery, parse, validate } from 'graphql';
import { GRAPHQL_LIMITS, limitRules, type LimitedOperation } from './graphql-limits';
import { schema as apiSchema } from './schema';

/** A schema that nests without end, so the depth rule can be reached (the API's own is flat today). */
const nesting = buildSchema(`
  type Node { id: ID! child: Node children(limit: Int = 20): [Node!]! }
  type Query { node: Node nodes(limit: Int = 20): [Node!]! }
`);
const api = buildSchema(apiSchema);

const refusals = (schema: typeof api, source: string, operation: Partial<LimitedOperation> = {}) =>
  validate(schema, parse(source), limitRules({ production: false, ...operation })).map((error) => error.message);

const nested = (levels: number) => `{ ${'node { '.repeat(levels - 1)}id${' }'.repeat(levels - 1)} }`;
const aliased = (count: number) => `{ ${Array.from({ length: count }, (_, index) => `a${index}: node { id }`).join(' ')} }`;
const pages = (count: number, limit: number) =>
  `{ ${Array.from({ length: count }, (_, index) => `p${index}: products(limit: ${limit}) { items { sku name } }`).join(' ')} }`;

describe('GraphQL limits (API.md: depth ≤ 8, cost ≤ 1000, aliases ≤ 20)', () => {
  it('accepts a selection 8 deep and refuses one 9 deep', () => {
    expect(refusals(nesting, nested(GRAPHQL_LIMITS.depth))).toEqual([]);
    expect(refusals(nesting, nested(GRAPHQL_LIMITS.depth + 1)).join()).toMatch(/depth/i);
  });

  it('accepts 20 aliases and refuses 21', () => {
    expect(refusals(nesting, aliased(GRAPHQL_LIMITS.aliases))).toEqual([]);
    expect(refusals(nesting, aliased(GRAPHQL_LIMITS.aliases + 1)).join()).toMatch(/alias/i);
  });

  it('counts a list as its limit times what each item selects', () => {
    // products(limit: 100) { items { sku name } } costs 1 + 100 × (1 + 2) = 301.
    expect(refusals(api, pages(3, 100))).toEqual([]);
    expect(refusals(api, pages(4, 100))).toEqual(['Query cost 1204 is over the limit of 1000: ask for fewer fields or smaller pages.']);
    // The default page (20) is counted when no limit is given: 1 + 20 × 3 = 61 each.
    const defaults = `{ ${Array.from({ length: 17 }, (_, index) => `p${index}: products { items { sku name } }`).join(' ')} }`;
    expect(refusals(api, defaults).join()).toMatch(/cost 1037/);
  });

  it('counts the buckets videoViews answers, a twentieth each: one request reads at most about 20,000', () => {
    const views = (count: number, range: string) =>
      `{ ${Array.from({ length: count }, (_, index) => `v${index}: videoViews(videoId: "v${index}", ${range}) { total buckets { start count } }`).join(' ')} }`;
    // 10,000 minutes (the most one call answers): 1 + total 1 + buckets (1 + 2) + 500 = 505.
    const mostMinutes = 'granularity: "minute", from: "2026-01-01T00:00:00Z", to: "2026-01-07T22:40:00Z"';
    expect(refusals(api, views(1, mostMinutes))).toEqual([]);
    expect(refusals(api, views(2, mostMinutes)).join()).toMatch(/cost 1010 is over the limit/);
    // A day by hour, the default range: 24 buckets cost 2 each.
    expect(refusals(api, views(20, 'granularity: "hour"'))).toEqual([]);
    // A range the query will refuse costs only its fields here.
    expect(refusals(api, views(1, 'granularity: "minute", from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z"'))).toEqual([]);
  });

  it('costs the operation the request chooses, and refuses a request that chooses none', () => {
    const named = `query Small { products(limit: 1) { items { sku } } } query Big ${pages(4, 100)}`;
    expect(refusals(api, named, { operationName: 'Small' })).toEqual([]);
    expect(refusals(api, named, { operationName: 'Big' }).join()).toMatch(/cost 1204/);
    // null, as most clients send for an anonymous query, chooses the only operation: it is costed all the same.
    expect(refusals(api, pages(4, 100), { operationName: null }).join()).toMatch(/cost 1204/);
    expect(refusals(api, pages(1, 1), { operationName: 'Nope' })).toEqual(['Unknown operation named "Nope".']);
    expect(refusals(api, named)).toEqual(['Must provide operation name if query contains multiple operations.']);
  });

  it('reads limits given as variables', () => {
    const query = 'query Pages($n: Int!) { a: products(limit: $n) { items { sku } } b: products(limit: $n) { items { sku } } }';
    expect(refusals(api, query, { variables: { n: 100 } })).toEqual([]);
    expect(refusals(nesting, 'query Deep($n: Int!) { nodes(limit: $n) { children(limit: $n) { id } } }', { variables: { n: 100 } }).join()).toMatch(/cost 10101/);
  });

  it('allows introspection outside production and refuses it in production', () => {
    expect(refusals(api, getIntrospectionQuery())).toEqual([]);
    expect(refusals(api, getIntrospectionQuery(), { production: true }).join()).toMatch(/introspection/i);
  });
});
