import { DECLINED_TOKEN, type DemoDataSet } from './demo-data';
import type { SettledOrder } from './settle-demo';

export type LookAt = Readonly<{ what: string; command: string }>;

/** What `tidings demo --json` prints: what was seeded, how the checkouts ended, and where to look. */
export type DemoSummary = Readonly<{
  run: string;
  api: string;
  seconds: number;
  products: number;
  stockUnits: number;
  users: number;
  follows: number;
  posts: number;
  likes: number;
  comments: number;
  shares: number;
  views: number;
  videos: number;
  orders: Readonly<{ placed: number; confirmed: number; cancelled: number }>;
  lookAt: Readonly<{
    user: string;
    popularUser: string;
    sku: string;
    video: string;
    confirmedOrder?: string;
    declinedOrder: string;
    /** Shell variables the commands use: ADMIN_TOKEN for the admin, USER_TOKEN for `user`. */
    tokens: Readonly<{ admin: string; user: string; ttlSeconds: number }>;
    commands: readonly LookAt[];
  }>;
}>;

export function demoSummary(
  data: DemoDataSet,
  orders: readonly SettledOrder[],
  context: Readonly<{ api: string; seconds: number; tokens: Readonly<{ admin: string; user: string; ttlSeconds: number }> }>,
): DemoSummary {
  const count = (kind: string) => data.reactions.filter((reaction) => reaction.kind === kind).length;
  const confirmed = orders.find((order) => order.status === 'confirmed')?.orderId;
  // The data set always has one (its second order).
  const declined = (orders.find((order) => order.paymentToken === DECLINED_TOKEN) as SettledOrder).orderId;
  const lookAt = { user: data.reader, popularUser: data.users[0], sku: data.products[0].sku, video: data.videos[0], ...(confirmed ? { confirmedOrder: confirmed } : {}), declinedOrder: declined };
  return {
    run: data.run,
    api: context.api,
    seconds: Math.round(context.seconds * 10) / 10,
    products: data.products.length,
    stockUnits: data.products.reduce((sum, product) => sum + product.stock, 0),
    users: data.users.length,
    follows: data.follows.length,
    posts: data.posts.length,
    likes: count('like'),
    comments: count('comment'),
    shares: count('share'),
    views: data.views.length,
    videos: data.videos.length,
    orders: { placed: orders.length, confirmed: orders.filter((order) => order.status === 'confirmed').length, cancelled: orders.filter((order) => order.status === 'cancelled').length },
    lookAt: { ...lookAt, tokens: context.tokens, commands: commandsFor(context.api, lookAt) },
  };
}

/** Copy-and-paste lines against the API; `$USER_TOKEN` and `$ADMIN_TOKEN` as the summary's tokens export them. */
function commandsFor(api: string, at: Omit<DemoSummary['lookAt'], 'tokens' | 'commands'>): LookAt[] {
  const get = (token: 'USER_TOKEN' | 'ADMIN_TOKEN', path: string) => `curl -s -H "Authorization: Bearer $${token}" '${api}${path}'`;
  const graphql = JSON.stringify({ query: '{ feed(limit: 3) { items { authorId text likes comments shares sharedBy } } trendingVideos(limit: 3) { videoId views } }' });
  return [
    { what: 'the catalog, and one product with its stock', command: `${get('USER_TOKEN', '/products?limit=5')}; ${get('USER_TOKEN', `/products/${at.sku}`)}` },
    { what: `${at.user}'s newsfeed: posts and shares of the users they follow, newest first`, command: get('USER_TOKEN', '/feed?limit=5') },
    { what: `who follows ${at.popularUser}, the most followed user`, command: get('USER_TOKEN', `/users/${at.popularUser}/followers`) },
    { what: 'the most viewed videos of the last 24 hours, and one video by hour', command: `${get('USER_TOKEN', '/videos/trending?window=24h')}; ${get('USER_TOKEN', `/videos/${at.video}/views?granularity=hour`)}` },
    ...(at.confirmedOrder ? [{ what: 'an order the checkout confirmed (payment captured)', command: get('ADMIN_TOKEN', `/orders/${at.confirmedOrder}`) }] : []),
    { what: `the order paid with ${DECLINED_TOKEN}: cancelled, its stock released`, command: get('ADMIN_TOKEN', `/orders/${at.declinedOrder}`) },
    { what: 'the checkout sagas that compensated, and the declined one with its history', command: `${get('ADMIN_TOKEN', '/admin/sagas?status=compensated')}; ${get('ADMIN_TOKEN', `/admin/sagas/checkout-${at.declinedOrder}`)}` },
    { what: 'the feed and trending videos over GraphQL', command: `curl -s -H "Authorization: Bearer $USER_TOKEN" -H 'Content-Type: application/json' -d '${graphql}' '${api}/graphql'` },
  ];
}

/** The summary for a terminal: counts, the tokens as shell exports, then what to look at. */
export function describeDemo(summary: DemoSummary): string[] {
  const { orders, lookAt } = summary;
  const n = (value: number) => value.toLocaleString('en-US');
  return [
    `Seeded demo ${summary.run} at ${summary.api} in ${summary.seconds} s:`,
    `  ${n(summary.products)} products with ${n(summary.stockUnits)} units in stock`,
    `  ${n(summary.users)} users, ${n(summary.follows)} follows; ${n(summary.posts)} posts, ${n(summary.likes)} likes, ${n(summary.comments)} comments, ${n(summary.shares)} shares`,
    `  ${n(summary.views)} views of ${summary.videos} videos`,
    `  ${n(orders.placed)} orders through checkout: ${n(orders.confirmed)} confirmed, ${n(orders.cancelled)} cancelled`,
    '',
    `Tokens (valid ${lookAt.tokens.ttlSeconds / 3_600} h):`,
    `  export ADMIN_TOKEN=${lookAt.tokens.admin}`,
    `  export USER_TOKEN=${lookAt.tokens.user}   # ${lookAt.user}`,
    '',
    'What to look at:',
    ...lookAt.commands.flatMap(({ what, command }) => [`  # ${what}`, `  ${command}`]),
    '',
    `In a browser: ${summary.api}/docs (OpenAPI), ${summary.api}/graphiql (GraphiQL, outside production)`,
    `Sagas from the shell: tidings sagas list --status compensated; tidings sagas show checkout-${lookAt.declinedOrder}`,
  ];
}
