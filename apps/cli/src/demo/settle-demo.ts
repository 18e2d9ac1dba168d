import { setTimeout as delay } from 'node:timers/promises';
import { startProgress } from '../progress';
import { ApiProblem, type ApiClient } from './api-client';
import type { DemoDataSet } from './demo-data';
import type { PlacedOrder, Seeded } from './seed-demo';

export type SettledOrder = PlacedOrder & Readonly<{ status: 'confirmed' | 'cancelled'; cancellationReason?: string }>;

type Tokens = Readonly<{ admin: string; reader: string }>;
type PostCounts = Readonly<{ likes: number; comments: number; shares: number }>;
/** A GET of the API as the reader (or with `token`): the body, undefined while it is not there yet. */
type Get = (path: string, token?: string) => Promise<unknown>;

/** How long the read models and the checkouts get, together, to show everything seeded. */
const SETTLE_TIMEOUT_MS = 60_000;
const LOOK_EVERY_MS = 250;
const CONCURRENCY = 8;

class NotSettled extends Error {
  override readonly name = 'NotSettled';
}

/**
 * Waits, at most SETTLE_TIMEOUT_MS in all, until the API shows what was seeded — every product
 * with its stock, every post with its likes, comments and shares, the reader's feed, every
 * video's views — and every order's checkout has ended, confirmed or cancelled; the orders as
 * they ended. It looks at the data itself rather than at positions: a read model's partitions
 * that the few demo streams leave idle would keep `?minPosition=` waiting.
 */
export async function settleDemo(api: ApiClient, data: DemoDataSet, seeded: Seeded, tokens: Tokens): Promise<SettledOrder[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  const get: Get = (path, token = tokens.reader) => answered(api, token, path);
  const counts = expectedCounts(data, seeded.postIds);
  const views = viewsPerVideo(data);
  await shown('products', data.products, deadline, ({ sku }) => stocked(get, sku));
  await shown('posts', seeded.postIds, deadline, (postId) => counted(get, postId, counts.get(postId)));
  await shown('feeds', [data.reader], deadline, () => filled(get));
  await shown('videos', data.videos, deadline, (videoId) => viewed(get, videoId, views.get(videoId) ?? 0));
  return shown('orders', seeded.orders, deadline, (order) => ended(get, order, tokens.admin));
}

/** Found (true), or not yet (undefined), as `shown` takes it. */
const seen = (condition: boolean): true | undefined => (condition ? true : undefined);

/** Its version is 1 once its stock receipt (the product stream's second event) is applied. */
const stocked = async (get: Get, sku: string) => seen((((await get(`/products/${sku}`)) as { version: number } | undefined)?.version ?? -1) >= 1);

const counted = async (get: Get, postId: string, expected: PostCounts | undefined) => {
  const post = (await get(`/posts/${postId}`)) as PostCounts | undefined;
  return seen(post !== undefined && expected !== undefined && post.likes === expected.likes && post.comments === expected.comments && post.shares === expected.shares);
};

const filled = async (get: Get) => seen(Boolean(((await get('/feed?limit=1')) as { items: unknown[] } | undefined)?.items.length));

const viewed = async (get: Get, videoId: string, views: number) => seen(((await get(`/videos/${videoId}/views`)) as { total: number } | undefined)?.total === views);

async function ended(get: Get, order: PlacedOrder, admin: string): Promise<SettledOrder | undefined> {
  const view = (await get(`/orders/${order.orderId}`, admin)) as { status: string; cancellationReason?: string } | undefined;
  if (view?.status !== 'confirmed' && view?.status !== 'cancelled') return undefined;
  return { ...order, status: view.status, ...(view.cancellationReason ? { cancellationReason: view.cancellationReason } : {}) };
}

/** The body of a GET; undefined while the read model does not have it yet (404) or lags (503). */
async function answered(api: ApiClient, token: string, path: string): Promise<unknown> {
  try {
    return await api.call('GET', path, { token });
  } catch (error) {
    if (error instanceof ApiProblem && (error.status === 404 || error.status === 503)) return undefined;
    throw error;
  }
}

/**
 * Looks at every item until `look` finds it as seeded (anything but undefined), again and again
 * for those not yet; what it found, in the items' order. Throws at the deadline, saying how many are missing.
 */
async function shown<Item, Result>(noun: string, items: readonly Item[], deadline: number, look: (item: Item) => Promise<Result | undefined>): Promise<Result[]> {
  const progress = startProgress(`demo: ${noun} shown by the API`, items.length, noun);
  const found = new Map<Item, Result>();
  try {
    for (;;) {
      const missing = items.filter((item) => !found.has(item));
      await Promise.all(
        dealt(missing, CONCURRENCY).map(async (list) => {
          for (const item of list) {
            const result = await look(item);
            if (result === undefined) continue;
            found.set(item, result);
            progress.advance();
          }
        }),
      );
      if (found.size === items.length) return items.map((item) => found.get(item) as Result);
      if (Date.now() > deadline) throw notSettled(noun, items.length - found.size, items.length);
      await delay(LOOK_EVERY_MS);
    }
  } finally {
    progress.stop();
  }
}

function notSettled(noun: string, missing: number, all: number): NotSettled {
  const who = noun === 'orders' ? 'still placed: is the sagas role running?' : 'not shown yet: is a projector running?';
  return new NotSettled(`after ${SETTLE_TIMEOUT_MS / 1000} s, ${missing} of ${all} ${noun} were ${who} (the data is seeded)`);
}

/** `items` dealt round-robin into `count` lists. */
function dealt<T>(items: readonly T[], count: number): T[][] {
  return Array.from({ length: count }, (_, list) => items.filter((_item, index) => index % count === list));
}

function expectedCounts(data: DemoDataSet, postIds: readonly string[]): Map<string, PostCounts> {
  const counts = postIds.map(() => ({ likes: 0, comments: 0, shares: 0 }));
  for (const { kind, post } of data.reactions) counts[post][`${kind}s`]++;
  return new Map(postIds.map((postId, index) => [postId, counts[index]]));
}

function viewsPerVideo(data: DemoDataSet): Map<string, number> {
  const views = new Map<string, number>();
  for (const { videoId } of data.views) views.set(videoId, (views.get(videoId) ?? 0) + 1);
  return views;
}
