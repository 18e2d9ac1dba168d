import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useTidingsApi } from './api-harness';

const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
/** 10 products, 6 users, 20 posts, 600 views, 4 orders (one declined): small enough for a loaded 2-core machine. */
const SCALE = '0.2';

type Summary = {
  run: string;
  products: number;
  users: number;
  posts: number;
  views: number;
  orders: { placed: number; confirmed: number; cancelled: number };
  lookAt: { user: string; sku: string; video: string; confirmedOrder?: string; declinedOrder: string; tokens: { admin: string; user: string }; commands: { what: string; command: string }[] };
};
type Order = { orderId: string; customerId: string; status: string; payment: { status: string } };
type Page<Item> = { items: Item[]; nextCursor: string | null };

/** `tidings demo`, run as a user runs it: the built CLI in its own process, against `tidings start` with every role. */
describe('tidings demo', () => {
  const api = useTidingsApi();

  const demo = async (args: readonly string[], env: Readonly<Record<string, string>> = {}) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'demo', ...args], { env: { ...process.env, JWT_SECRET: api.secret, ...env } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };

  const get = async <T>(token: string, path: string): Promise<T> => {
    const response = await fetch(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
    return (await response.json()) as T;
  };

  /** Every order the deployment holds, as an admin lists them. */
  const allOrders = async (admin: string): Promise<Order[]> => {
    const orders: Order[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<Order> = await get(admin, `/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      orders.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return orders;
  };

  /** What the summary promises, checked through the API with tokens of the test's own. */
  const expectSeeded = async (summary: Summary) => {
    const [admin, reader] = await api.tokens([
      { userId: 'demo-e2e-admin', roles: ['admin'] },
      { userId: summary.lookAt.user, roles: ['customer'] },
    ]);
    const ofRun = (id: string) => id.endsWith(`-${summary.run}`);

    const products = await get<Page<{ sku: string; onHand: number }>>(reader, '/products?limit=100');
    expect(products.items.filter((product) => ofRun(product.sku))).toHaveLength(summary.products);
    expect((await get<{ onHand: number }>(reader, `/products/${summary.lookAt.sku}`)).onHand).toBeGreaterThan(0);

    const feed = await get<Page<{ authorId: string }>>(reader, '/feed');
    expect(feed.items.length).toBeGreaterThan(0);
    expect(feed.items.every((item) => ofRun(item.authorId))).toBe(true);

    const trending = await get<{ videoId: string; views: number }[]>(reader, '/videos/trending?window=24h&limit=100');
    const videos = trending.filter((video) => ofRun(video.videoId));
    expect(videos.length).toBeGreaterThan(0);
    expect(videos.reduce((sum, video) => sum + video.views, 0)).toBe(summary.views);

    const orders = (await allOrders(admin)).filter((order) => ofRun(order.customerId));
    expect(orders).toHaveLength(summary.orders.placed);
    expect(orders.filter((order) => order.status !== 'confirmed' && order.status !== 'cancelled')).toEqual([]);
    expect(orders.filter((order) => order.status === 'confirmed')).toHaveLength(summary.orders.confirmed);
    expect(summary.orders.confirmed).toBeGreaterThanOrEqual(1);
    expect(await get<Order>(admin, `/orders/${summary.lookAt.declinedOrder}`)).toMatchObject({ status: 'cancelled', payment: { status: 'declined' } });
  };

  it('seeds products, a social graph, posts, views and orders through checkout over the API, and says where to look', async () => {
    const run = await demo(['--json', '--scale', SCALE, '--api', api.baseUrl]);
    expect(run).toMatchObject({ code: 0 });
    // Not a terminal: progress comes as plain lines on stderr, stdout is the summary alone.
    expect(run.stderr).toMatch(/^demo: products: 10\/10 products/m);
    expect(run.stderr).toMatch(/^demo: orders shown by the API: 4\/4 orders/m);
    const summary = JSON.parse(run.stdout) as Summary;
    expect(summary).toMatchObject({ products: 10, users: 6, posts: 20, views: 600, orders: { placed: 4 } });
    expect(summary.lookAt.commands.map((look) => look.command).join('\n')).toContain(`${api.baseUrl}/orders/${summary.lookAt.declinedOrder}`);
    // The tokens it prints are accepted by the API.
    await get(summary.lookAt.tokens.admin, `/orders/${summary.lookAt.declinedOrder}`);
    await get(summary.lookAt.tokens.user, '/feed?limit=1');
    await expectSeeded(summary);
  }, 90_000);

  it('runs again on the same deployment, finding the API from PORT, and adds a data set of its own', async () => {
    const run = await demo(['--json', '--scale', SCALE], { PORT: new URL(api.baseUrl).port });
    expect(run).toMatchObject({ code: 0 });
    const summary = JSON.parse(run.stdout) as Summary;
    await expectSeeded(summary);
    const [admin] = await api.tokens([{ userId: 'demo-e2e-admin', roles: ['admin'] }]);
    expect(await allOrders(admin)).toHaveLength(2 * summary.orders.placed);
  }, 90_000);

  it('says in one line, with a non-zero exit, that no API answers', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const run = await demo(['--api', `http://127.0.0.1:${port}`]);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(`tidings: no Tidings API answers at http://127.0.0.1:${port} (ECONNREFUSED); start one with \`tidings start\`, or point --api at it\n`);
    // A PORT that is no port is a setting to fix, not an API that does not answer.
    const misconfigured = await demo([], { PORT: 'abc' });
    expect(misconfigured).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^tidings: PORT must be/) });
  });

  it('takes a scale written as a decimal number only', async () => {
    for (const scale of ['1e1', '0x10', ' 2', '0.01', '101']) {
      expect(await demo(['--scale', scale, '--api', api.baseUrl])).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/a number from 0.05 to 100/) });
    }
  });
});
