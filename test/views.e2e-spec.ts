import { partitionOf } from '@tidings/messaging';
import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { killHard, type TidingsProcess } from './tidings-process';

const VIEWS = 100_000;
const PER_REQUEST = 1_000;
const VIDEOS = 40;
const CONCURRENCY = 8;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A seeded generator: a failing run can be repeated (VIEWS_SEED). */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Answer = { status: number; body: Record<string, unknown> & { buckets?: { start: string; count: number }[] } };

/**
 * Views end to end: the API and relay in one process, two projector processes sharing the
 * partitions, one of them killed -9 while 100,000 views arrive; requests retried under their
 * Idempotency-Key. Every video's minute buckets then equal what was sent, exactly.
 */
describe('views: exact counts by bucket, range queries and trending', () => {
  const api = useTidingsApi({ TIDINGS_LEASE_TTL_MS: '2000' }, 'api,relay');
  const projectors: TidingsProcess[] = [];
  let admin: string;

  beforeAll(async () => {
    projectors.push(api.start('projector'), api.start('projector'));
    [admin] = await api.tokens([{ userId: 'views-admin', roles: ['admin'] }]);
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  };
  const read = (path: string) => call('GET', path, undefined, { authorization: `Bearer ${admin}` });
  /** Reads once the views read model has applied `position` (503 while it catches up). */
  const readAt = async (path: string, position: string): Promise<Answer> => {
    let answer: Answer = { status: 0, body: {} };
    await eventually(
      async () => {
        answer = await read(`${path}${path.includes('?') ? '&' : '?'}minPosition=${position}`);
        expect(answer.status).not.toBe(503);
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    return answer;
  };

  it('counts 100,000 views exactly while a projector is killed -9 and requests are delivered twice', async () => {
    const next = random(Number(process.env.VIEWS_SEED ?? 20261121));
    const base = Math.floor((Date.now() - 4 * HOUR) / HOUR) * HOUR;
    const videos = Array.from({ length: VIDEOS }, (_, index) => `e2e-video-${index}`);
    const expected = new Map(videos.map((videoId) => [videoId, new Map<number, number>()]));
    const requests = Array.from({ length: VIEWS / PER_REQUEST }, () =>
      Array.from({ length: PER_REQUEST }, () => {
        // Skewed: low-numbered videos are hot, so some streams see many concurrent writers.
        const videoId = videos[Math.floor(VIDEOS * next() ** 3)];
        const at = base + Math.floor(next() * 3 * HOUR);
        const minute = Math.floor(at / MINUTE) * MINUTE;
        const counts = expected.get(videoId) as Map<number, number>;
        counts.set(minute, (counts.get(minute) ?? 0) + 1);
        return { videoId, at: new Date(at).toISOString() };
      }),
    );
    let head = 0n;
    let sent = 0;
    let killed = false;
    const send = async (views: unknown[], key: string) => {
      const answer = await call('POST', '/views', { views }, { 'idempotency-key': key });
      expect(answer).toMatchObject({ status: 202, body: { accepted: PER_REQUEST } });
      if (BigInt(answer.body.position as string) > head) head = BigInt(answer.body.position as string);
    };
    const queue = requests.map((views, index) => ({ views, key: `views-e2e-${index}` }));
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let request = queue.shift(); request; request = queue.shift()) {
          await send(request.views, request.key);
          // Every tenth request is delivered again: the stored answer is replayed, nothing appended.
          if (++sent % 10 === 0) await send(request.views, request.key);
          if (sent >= requests.length / 2 && !killed) {
            killed = true;
            await killHard(projectors[0]);
            projectors[0] = api.start('projector');
          }
        }
      }),
    );
    expect(await api.eventCount()).toBe(VIEWS);

    const from = new Date(base).toISOString();
    const to = new Date(base + 3 * HOUR).toISOString();
    for (const videoId of videos) {
      const answer = await readAt(`/videos/${videoId}/views?from=${from}&to=${to}&granularity=minute`, head.toString());
      const counts = expected.get(videoId) as Map<number, number>;
      expect(answer.status).toBe(200);
      expect(answer.body.buckets).toHaveLength(180);
      expect(answer.body.buckets).toEqual(Array.from({ length: 180 }, (_, index) => ({ start: new Date(base + index * MINUTE).toISOString(), count: counts.get(base + index * MINUTE) ?? 0 })));
      expect(answer.body.total).toBe([...counts.values()].reduce((sum, count) => sum + count, 0));
    }
    const hot = await read(`/videos/${videos[0]}/views?from=${from}&to=${to}&granularity=hour`);
    expect((hot.body.buckets ?? []).map((bucket) => bucket.count)).toEqual(
      [0, 1, 2].map((hour) => [...(expected.get(videos[0]) as Map<number, number>)].filter(([minute]) => Math.floor((minute - base) / HOUR) === hour).reduce((sum, [, count]) => sum + count, 0)),
    );

    const totals = videos.map((videoId) => ({ videoId, views: [...(expected.get(videoId) as Map<number, number>).values()].reduce((sum, count) => sum + count, 0) }));
    const ranked = totals.sort((a, b) => b.views - a.views || (a.videoId < b.videoId ? -1 : 1)).slice(0, 5);
    const trending = await read('/videos/trending?window=24h&limit=5');
    expect(trending.status).toBe(200);
    expect(trending.body).toEqual(ranked);
    // 100k views through the API, store, relay and two projectors: more than the default minute on a busy 2-core machine.
  }, 240_000);

  it('puts a view at 10:59:59.999 and one at 11:00:00.000 in different minutes and hours', async () => {
    const day = new Date(Math.floor((Date.now() - 2 * 86_400_000) / 86_400_000) * 86_400_000);
    const at = (time: string) => `${day.toISOString().slice(0, 10)}T${time}Z`;
    const sent = await call('POST', '/views', { views: [{ videoId: 'edges', at: at('10:59:59.999') }, { videoId: 'edges', at: at('11:00:00.000') }, { videoId: 'edges', at: at('11:00:00.000') }] });
    expect(sent.status).toBe(202);
    const minutes = await readAt(`/videos/edges/views?from=${at('10:59:00')}&to=${at('11:01:00')}&granularity=minute`, sent.body.position as string);
    expect(minutes.body.buckets).toEqual([
      { start: `${at('10:59:00.000')}`, count: 1 },
      { start: `${at('11:00:00.000')}`, count: 2 },
    ]);
    const hours = await read(`/videos/edges/views?from=${at('10:00:00')}&to=${at('12:00:00')}&granularity=hour`);
    expect(hours.body).toMatchObject({ total: 3, buckets: [{ start: at('10:00:00.000'), count: 1 }, { start: at('11:00:00.000'), count: 2 }] });
    const days = await read(`/videos/edges/views?from=${at('00:00:00')}&to=${at('23:59:59')}&granularity=day`);
    expect(days.body).toMatchObject({ total: 3, buckets: [{ start: at('00:00:00.000'), count: 3 }] });
  });

  it('refuses ranges it cannot answer with 400 problem+json', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    for (const [query, detail] of [
      [`from=${iso(now)}&to=${iso(now - HOUR)}`, /must be before/],
      [`from=${iso(now - 10_001 * MINUTE)}&to=${iso(now)}&granularity=minute`, /at most 10000/],
      [`from=${iso(now - 8 * 86_400_000)}&to=${iso(now - 7.5 * 86_400_000)}&granularity=minute`, /minute buckets are kept since/],
      ['granularity=week', /not valid/],
      ['from=yesterday', /not valid/],
      ['limit=3', /not valid/],
      ['from=9999-12-31T00:00:00Z&to=9999-12-31T23:59:59Z&granularity=day', /views are counted from 1970/],
      ['to=0000-01-01T12:00:00Z', /views are counted from 1970/],
    ] as const) {
      const response = await fetch(`${api.baseUrl}/videos/v/views?${query}`, { headers: { authorization: `Bearer ${admin}` } });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(await response.json())).toMatch(detail);
    }
    expect((await read('/videos/trending?window=2h')).status).toBe(400);
    expect((await read('/videos/trending?limit=101')).status).toBe(400);
  });

  it('reads a view back with minPosition while a steady stream of views keeps the batch from going quiet', async () => {
    // 20 views a second to another video: never quiet for 150 ms, so the batch closes only when it has lingered its most.
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await call('POST', '/videos/steady/views', {});
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const own = await call('POST', '/videos/own-stream/views', {});
      // One read, no retry: the API waits up to 5 s for the read model to reach the view.
      expect(await read(`/videos/own-stream/views?granularity=day&minPosition=${own.body.position as string}`)).toMatchObject({ status: 200, body: { total: 1 } });
    } finally {
      streaming = false;
      await stream;
    }
  });

  it('records views of anyone, with the signed-in viewer, and refuses bad batches without appending', async () => {
    const before = await api.eventCount();
    const bad = [
      { views: [] },
      { views: Array.from({ length: 1_001 }, () => ({ videoId: 'v' })) },
      { views: [{ videoId: 'has space' }] },
      { views: [{ videoId: 'v', at: new Date(Date.now() + 10 * MINUTE).toISOString() }] },
      { views: [{ videoId: 'v', extra: true }] },
      // Year 0 in UTC: stored, it would block the views projection's partition.
      { views: [{ videoId: 'v', at: '0001-01-01T00:00:00+01:00' }] },
    ];
    for (const body of bad) expect((await call('POST', '/views', body)).status).toBe(400);
    expect((await call('POST', '/videos/v/views', { viewerId: 'someone' })).status).toBe(401);
    const [viewerToken] = await api.tokens([{ userId: 'viewer-1', roles: ['customer'] }]);
    expect((await call('POST', '/videos/v/views', { viewerId: 'someone' }, { authorization: `Bearer ${viewerToken}` })).status).toBe(403);
    expect(await api.eventCount()).toBe(before);

    expect(await call('POST', '/videos/anon/views', {})).toMatchObject({ status: 202, body: { accepted: 1 } });
    const mine = await call('POST', '/videos/mine/views', {}, { authorization: `Bearer ${viewerToken}` });
    expect(mine).toMatchObject({ status: 202, body: { accepted: 1 } });
    const recorded = await readAt('/videos/mine/views?granularity=day', mine.body.position as string);
    expect(recorded.body.total).toBe(1);
    expect(await api.eventCount()).toBe(before + 2);
  });

  it('serves videoViews, trendingVideos and recordView over GraphQL', async () => {
    const graphql = (query: string, token?: string) =>
      call('POST', '/graphql', { query }, token ? { authorization: `Bearer ${token}` } : {}) as Promise<{ status: number; body: { data?: Record<string, never>; errors?: unknown[] } & Record<string, unknown> }>;
    const recorded = await graphql(`mutation { recordView(videoId: "gql-video") { accepted position } }`);
    expect(recorded.body.data).toMatchObject({ recordView: { accepted: 1 } });
    const position = (recorded.body.data as unknown as { recordView: { position: string } }).recordView.position;
    // REST first, at the mutation's position: what GraphQL answers next must agree with it.
    expect((await readAt('/videos/gql-video/views', position)).body.total).toBe(1);
    const answer = await graphql(`{ videoViews(videoId: "gql-video", granularity: "day") { videoId total buckets { count } } trendingVideos(window: "1h", limit: 100) { videoId views } }`, admin);
    expect(answer.body.errors).toBeUndefined();
    const data = answer.body.data as unknown as { videoViews: { total: number }; trendingVideos: { videoId: string; views: number }[] };
    expect(data.videoViews.total).toBe(1);
    expect(data.trendingVideos).toContainEqual({ videoId: 'gql-video', views: 1 });
    expect((await graphql(`{ videoViews(videoId: "gql-video") { total } }`)).body.errors).toBeDefined();
    const before = await api.eventCount();
    const refused = await graphql(`mutation { recordView(videoId: "gql-video", at: "0000-06-01T00:00:00Z") { accepted } }`);
    expect(refused.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/before 1970/), extensions: expect.objectContaining({ status: 400 }) })]);
    expect(await api.eventCount()).toBe(before);
  });

  it('counts exactly when a projector is frozen (SIGSTOP) mid-batch: its partitions move once PostgreSQL ends its idle transaction, and it rejoins when thawed', async () => {
    const leasesOf = async () =>
      (await api.pool.query<{ partition: number; member: string }>("SELECT partition, member FROM consumer_leases WHERE consumer_group = 'projection.views' ORDER BY partition")).rows;
    let leases: { partition: number; member: string }[] = [];
    await eventually(async () => {
      leases = await leasesOf();
      // Settled: two partitions each.
      const perMember = new Map<string, number>();
      for (const { member } of leases) perMember.set(member, (perMember.get(member) ?? 0) + 1);
      expect([...perMember.values()]).toEqual([2, 2]);
    }, { timeoutMs: 30_000, intervalMs: 200 });
    // Members are named host-pid-suffix: the frozen one is a process this test started.
    const frozen = projectors.find(({ child }) => leases.some(({ member }) => member.includes(`-${child.pid}-`))) as TidingsProcess;
    const frozenPartitions = new Set(leases.filter(({ member }) => member.includes(`-${frozen.child.pid}-`)).map(({ partition }) => partition));
    // Videos only the frozen projector counts (TIDINGS_PARTITIONS is 4 in the harness).
    const videos = Array.from({ length: 200 }, (_, index) => `frozen-video-${index}`).filter((videoId) => frozenPartitions.has(partitionOf(`video-${videoId}`, 4))).slice(0, 5);
    expect(videos).toHaveLength(5);
    const sent = new Map(videos.map((videoId) => [videoId, 0]));
    let head = '0';
    const send = async (round: number) => {
      const views = Array.from({ length: 500 }, (_, index) => ({ videoId: videos[(index + round) % videos.length] }));
      for (const { videoId } of views) sent.set(videoId, (sent.get(videoId) as number) + 1);
      const answer = await call('POST', '/views', { views });
      expect(answer.status).toBe(202);
      head = answer.body.position as string;
    };

    // The counts table is locked, so the frozen projector's next batch waits inside its transaction, holding its lease.
    const blocker = await api.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE video_views_minute IN SHARE MODE');
      await send(0);
      await eventually(async () => {
        const { rows } = await api.pool.query("SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname LIKE 'video\\_views\\_minute\\_v%'");
        expect(rows.length).toBeGreaterThan(0);
      }, { timeoutMs: 30_000, intervalMs: 100 });
      frozen.child.kill('SIGSTOP');
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    try {
      // Its statement done, the frozen member's transaction sits idle until PostgreSQL ends it (twice the 2 s lease TTL); then the other member takes its partitions.
      await eventually(async () => expect((await leasesOf()).every(({ member }) => !member.includes(`-${frozen.child.pid}-`))).toBe(true), { timeoutMs: 30_000, intervalMs: 200 });
      await send(1);
      await readAt('/videos/trending?window=24h&limit=1', head);
    } finally {
      frozen.child.kill('SIGCONT');
    }
    await send(2);
    for (const videoId of videos) expect((await readAt(`/videos/${videoId}/views?granularity=day`, head)).body.total).toBe(sent.get(videoId));
    // Thawed, it finds its batch refused and its partitions gone, and takes its share again.
    await eventually(async () => expect(new Set((await leasesOf()).map(({ member }) => member)).size).toBe(2), { timeoutMs: 30_000, intervalMs: 200 });
    expect(frozen.child.exitCode).toBeNull();
  }, 120_000);
});
