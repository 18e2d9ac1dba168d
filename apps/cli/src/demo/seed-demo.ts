import { startProgress } from '../progress';
import type { ApiClient } from './api-client';
import type { DemoDataSet, DemoOrder, DemoReaction } from './demo-data';

/** Who acts: the admin's token and each user's (TokenOf(userId)). */
export type TokenOf = (userId: string) => string;

export type PlacedOrder = DemoOrder & Readonly<{ orderId: string }>;

/** The ids the API gave: posts in the data set's order, and the orders placed. */
export type Seeded = Readonly<{ postIds: readonly string[]; orders: readonly PlacedOrder[] }>;

/** Requests in flight at once: enough to keep a local API busy, few enough to stay under its rate limits' bursts. */
const CONCURRENCY = 8;
const VIEWS_PER_REQUEST = 500;

/**
 * The data set through the public API, one kind after another (a post must exist before its
 * likes, comments and shares), each with a progress bar or lines on stderr. Any error answer stops the seeding.
 */
export async function seedDemo(api: ApiClient, data: DemoDataSet, tokenOf: TokenOf): Promise<Seeded> {
  const admin = tokenOf(data.adminId);
  await phase('products', data.products, async ({ sku, name, priceCents, stock }) => {
    await api.call('POST', '/products', { token: admin, body: { sku, name, priceCents } });
    return api.call('POST', `/products/${sku}/stock`, { token: admin, body: { quantity: stock } });
  });
  await phase('follows', data.follows, ({ followerId, followeeId }) => api.call('POST', `/users/${followeeId}/follow`, { token: tokenOf(followerId) }));
  const posts = await phase('posts', data.posts, ({ authorId, text }) => api.call('POST', '/posts', { token: tokenOf(authorId), body: { text } }));
  const postIds = posts.map((answer) => (answer as { postId: string }).postId);
  await phase('reactions', data.reactions, (reaction) => react(api, reaction, postIds[reaction.post], tokenOf(reaction.userId)));
  await phase('views', batches(data.views, VIEWS_PER_REQUEST), (batch) => api.call('POST', '/views', { token: admin, body: { views: batch } }), (batch) => batch.length);
  const orders = await phase('orders', data.orders, async (order): Promise<PlacedOrder> => {
    const { customerId, ...body } = order;
    const placed = await api.call('POST', '/orders', { token: tokenOf(customerId), body });
    return { ...order, orderId: (placed as { orderId: string }).orderId };
  });
  return { postIds, orders };
}

function react(api: ApiClient, reaction: DemoReaction, postId: string, token: string): Promise<unknown> {
  switch (reaction.kind) {
    case 'like':
      return api.call('POST', `/posts/${postId}/like`, { token });
    case 'comment':
      return api.call('POST', `/posts/${postId}/comments`, { token, body: { text: reaction.text } });
    case 'share':
      return api.call('POST', `/posts/${postId}/share`, { token });
    default: {
      const unknown: never = reaction;
      throw new Error(`unknown reaction ${JSON.stringify(unknown)}`);
    }
  }
}

/** `work` on every item, CONCURRENCY at a time, with progress in `noun`s on stderr; the results in the items' order. */
async function phase<Item, Result>(noun: string, items: readonly Item[], work: (item: Item) => Promise<Result>, sizeOf: (item: Item) => number = () => 1): Promise<Result[]> {
  const progress = startProgress(`demo: ${noun}`, items.reduce((sum, item) => sum + sizeOf(item), 0), noun);
  const results: Result[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await work(items[index]);
      progress.advance(sizeOf(items[index]));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  } finally {
    progress.stop();
  }
  return results;
}

function batches<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}
