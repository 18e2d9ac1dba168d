import { DECLINED_TOKEN, demoDataSet, type DemoDataSet } from './demo-data';

const NOW = new Date('2026-03-01T12:00:00Z');
const ID = /^[A-Za-z0-9_-]{1,64}$/;

describe('the demo data set', () => {
  const data = demoDataSet({ run: 'r1', scale: 1, now: NOW });

  it('has the sizes of scale 1: 50 products, 30 users, 100 posts, 3,000 views of 8 videos, 20 orders', () => {
    expect([data.products.length, data.users.length, data.posts.length, data.views.length, data.videos.length, data.orders.length]).toEqual([50, 30, 100, 3_000, 8, 20]);
  });

  it('is the same for the same scale but for the run in its ids', () => {
    const again = demoDataSet({ run: 'r2', scale: 1, now: NOW });
    const withoutRun = (set: DemoDataSet) => JSON.stringify({ ...set, run: undefined }).replace(new RegExp(`-${set.run}\\b`, 'g'), '');
    expect(withoutRun(again)).toEqual(withoutRun(data));
    expect(again.products.map((product) => product.sku)).not.toEqual(data.products.map((product) => product.sku));
  });

  it('names everything with ids the API accepts, unique and ending in the run', () => {
    const ids = [...data.products.map((product) => product.sku), ...data.users, ...data.videos, data.adminId];
    for (const id of ids) expect(id).toMatch(ID);
    for (const id of ids) expect(id.endsWith('-r1')).toBe(true);
    expect(new Set(data.products.map((product) => product.sku)).size).toBe(data.products.length);
    expect(new Set(data.users).size).toBe(data.users.length);
  });

  it('prices and stocks every product plausibly', () => {
    for (const { priceCents, stock, name } of data.products) {
      expect(Number.isInteger(priceCents) && priceCents >= 99 && priceCents % 100 === 99).toBe(true);
      expect(stock).toBeGreaterThanOrEqual(25);
      expect(name.length).toBeGreaterThan(0);
    }
  });

  it('has a follow graph that falls off like Zipf: the first user followed by everyone else, no one following themselves or twice', () => {
    const followers = (userId: string) => data.follows.filter((follow) => follow.followeeId === userId).length;
    expect(followers(data.users[0])).toBe(29);
    expect(followers(data.users[1])).toBe(15);
    expect(followers(data.users[29])).toBe(1);
    expect(data.follows.every((follow) => follow.followerId !== follow.followeeId)).toBe(true);
    expect(new Set(data.follows.map((follow) => `${follow.followerId}>${follow.followeeId}`)).size).toBe(data.follows.length);
  });

  it('picks a reader who follows the first post’s author, so their feed has something', () => {
    expect(data.posts[0].authorId).toBe(data.users[0]);
    expect(data.follows).toContainEqual({ followerId: data.reader, followeeId: data.users[0] });
  });

  it('reacts only to posts that exist, never to one’s own, liking a post at most once per user', () => {
    for (const reaction of data.reactions) {
      expect(data.posts[reaction.post]).toBeDefined();
      expect(reaction.userId).not.toBe(data.posts[reaction.post].authorId);
    }
    const likes = data.reactions.filter((reaction) => reaction.kind === 'like').map((like) => `${like.post}:${like.userId}`);
    expect(new Set(likes).size).toBe(likes.length);
    expect(['like', 'comment', 'share'].every((kind) => data.reactions.some((reaction) => reaction.kind === kind))).toBe(true);
  });

  it('dates views in the six hours before now, most of them of the first video', () => {
    const times = data.views.map((view) => Date.parse(view.at));
    expect(Math.max(...times)).toBeLessThanOrEqual(NOW.getTime());
    expect(Math.min(...times)).toBeGreaterThan(NOW.getTime() - 6 * 3_600_000);
    const ofFirst = data.views.filter((view) => view.videoId === data.videos[0]).length;
    expect(ofFirst).toBeGreaterThan(data.views.length / 4);
  });

  it('orders one to three different products of the catalog, one order with a declined card and one with a flaky gateway', () => {
    const skus = new Set(data.products.map((product) => product.sku));
    for (const order of data.orders) {
      expect(order.items.length).toBeGreaterThanOrEqual(1);
      expect(order.items.length).toBeLessThanOrEqual(3);
      expect(new Set(order.items.map((item) => item.sku)).size).toBe(order.items.length);
      expect(order.items.every((item) => skus.has(item.sku))).toBe(true);
      expect(data.users).toContain(order.customerId);
    }
    expect(data.orders.map((order) => order.paymentToken).filter((token) => token !== 'tok_visa')).toEqual([DECLINED_TOKEN, 'tok_unavailable_2']);
  });

  it('keeps every part at a small scale, and grows with a large one', () => {
    const small = demoDataSet({ run: 'r1', scale: 0.05, now: NOW });
    expect([small.products.length, small.users.length, small.posts.length, small.orders.length]).toEqual([3, 3, 5, 2]);
    expect(small.orders.map((order) => order.paymentToken)).toEqual(['tok_visa', DECLINED_TOKEN]);
    const large = demoDataSet({ run: 'r1', scale: 3, now: NOW });
    expect(new Set(large.products.map((product) => product.name)).size).toBe(150);
    expect(large.users.length).toBe(90);
  });
});
