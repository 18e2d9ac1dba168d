import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { uuidV7Ids, type EventStore, type EventToAppend, type Message, type RecordedEvent } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import { partitionOf } from '@tidings/messaging';
import { inTransaction, migrate, quoteIdentifier, type Projection, type ProjectionTables } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { feedProjection, postStreamId, userStreamId, type PostPublished, type UserFollowed } from '@tidings/social';
import { startProgress } from '../progress';
import { startBenchApi, type BenchApi } from './bench-api';
import { compared, median, percentile, timeWorkers, type BenchResult } from './bench-result';
import { atFixedRate, requestJson } from './load-generator';

/** QUALITY.md `feed`: 2k users, Zipf follows (one author with 1.5k followers), 10k posts. */
const USERS = 2_000;
const TOP_FOLLOWERS = 1_500;
const POSTS = 10_000;
const ROUNDS = 3;
/** Concurrent appends of follows and posts (group commit gathers them). */
const WRITERS = 16;
/** Posts per transaction of the projection, and per INSERT of the baseline: a projector's batch holds at most 500 events. */
const BATCH = 500;
/** QUALITY.md: `GET /feed` at a fixed 200 req/s. */
const READ_RATE = 200;
const READ_SECONDS = 20;
const WARM_UP_SECONDS = 3;
const CAUGHT_UP_TIMEOUT_MS = 10 * 60_000;

type Post = Readonly<{ postId: string; authorId: string; publishedAt: string }>;
type Graph = Readonly<{ users: readonly string[]; followers: ReadonlyMap<string, readonly string[]> }>;

/**
 * On a follow graph whose follower counts fall off as Zipf's law (rank r has 1500/(r+1)
 * followers, so the top author has 1.5k; about 12k follows), with 10k posts (5 per user):
 * - fan-out: the feed projection's `apply` (the projector's code and SQL: posts, the join with
 *   `follows`, `feed_items` rows read back for live notifications) on copies of its tables, in
 *   transactions of up to 500 posts, one connection per partition as the projector has; rows
 *   are the `feed_items` rows written, checked against the graph. Baseline: the same rows as
 *   multi-row INSERTs into a scratch table of the same shape and indexes, the same posts per
 *   statement and the same connections. Three alternating rounds, medians.
 * - end to end (reported as well): the follows and posts appended to the store (16 writers)
 *   of `tidings start` (every role in one process, or the processes TIDINGS_BENCH_PROCESSES
 *   lists), from the first post's append until the feed answers `?minPosition=` for the last;
 *   bounded by the appends as much as by the fan-out.
 * - reads: `GET /feed` of random users, open-loop at 200 req/s for 20 s (one request every
 *   5 ms, see `atFixedRate`) after a 3 s warm-up; the p99 of the response times, each from the
 *   moment its request was due.
 * At the default TIDINGS_CELEBRITY_FOLLOWERS (10,000) every author is fanned out on write.
 */
export async function benchFeed(settings: Settings): Promise<BenchResult[]> {
  await migrate(settings.databaseUrl);
  const api = await startBenchApi(settings, (process.env.TIDINGS_BENCH_PROCESSES ?? 'api,relay,projector,sagas').split(' '));
  const store = openEventStore(settings);
  const pool = new Pool({ connectionString: settings.databaseUrl, max: settings.partitions + 2 });
  const run = randomBytes(3).toString('hex');
  const projection = feedProjection({ celebrityFollowers: settings.social.celebrityFollowers, onFeedItems: () => undefined });
  // Copies of the feed's tables, and the baseline's: the bench's alone, dropped afterwards.
  const copies: Record<string, string> = Object.fromEntries(Object.keys(projection.tables).map((view) => [view, `bench_feed_${run}_${view}`]));
  const raw = `bench_feed_${run}_raw`;
  try {
    const graph = followGraph(Array.from({ length: USERS }, (_, rank) => `bf${run}-${rank}`));
    const postsOf = () => {
      const now = Date.now();
      return Array.from({ length: POSTS }, (_, index): Post => ({ postId: uuidV7Ids.next(), authorId: graph.users[index % USERS], publishedAt: new Date(now + index).toISOString() }));
    };
    const rowsOf = (posts: readonly Post[]) => posts.reduce((sum, post) => sum + (graph.followers.get(post.authorId)?.length ?? 0), 0);

    // Whatever the database already holds is relayed and projected first: the figures are for a pipeline at head.
    const reader = await api.token(graph.users[0], ['customer']);
    await caughtUp(api.baseUrl, reader, await appendFollows(store, graph), 'the follows');
    const published = postsOf();
    const endToEnd = rowsOf(published) / (await throughThePipeline(api.baseUrl, reader, store, pool, published, rowsOf(published)));

    for (const [view, table] of Object.entries(copies)) await pool.query(projection.tables[view](quoteIdentifier(table)));
    await pool.query(projection.tables.feed_items(quoteIdentifier(raw)));
    await followInCopies(pool, projection, copies, graph);
    const projectedRates: number[] = [];
    const rawRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const posts = postsOf();
      const rows = rowsOf(posts);
      const batches = inBatches(posts, settings.partitions);
      const phases = [
        async () => projectedRates.push(rows / (await fanOut(pool, projection, copies, batches, rows, `feed fan-out ${round}/${ROUNDS}`))),
        async () => rawRates.push(rows / (await insertRaw(pool, raw, graph, batches, `feed baseline ${round}/${ROUNDS}`))),
      ];
      // Alternating order: whatever one phase leaves behind (dead tuples, checkpoints) falls on both.
      for (const phase of round % 2 ? phases : phases.reverse()) await phase();
    }

    const tokens = await Promise.all(graph.users.map((userId) => api.token(userId, ['customer'])));
    await readFeeds(api, tokens, WARM_UP_SECONDS, 'feed reads warm-up');
    const latencies = await readFeeds(api, tokens, READ_SECONDS, 'feed reads');
    return [
      compared('feed', 'fanout_rows_per_s', median(projectedRates), 'raw_multi_row_insert', median(rawRates)),
      { workload: 'feed', metric: 'fanout_end_to_end_rows_per_s', value: Math.round(endToEnd) },
      { workload: 'feed', metric: 'feed_read_p99_ms', value: Math.round(percentile(latencies, 99) * 10) / 10 },
    ];
  } finally {
    for (const table of [...Object.values(copies), raw]) await pool.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`).catch(() => undefined);
    await pool.end();
    await store.close();
    await api.stop();
  }
}

/** Users by rank; rank r is followed by round(1500 / (r + 1)) others, drawn at random. */
function followGraph(users: readonly string[]): Graph {
  const followers = new Map<string, string[]>();
  users.forEach((userId, rank) => {
    const chosen = new Set<string>();
    const wanted = Math.min(users.length - 1, Math.round(TOP_FOLLOWERS / (rank + 1)));
    while (chosen.size < wanted) {
      const follower = users[Math.floor(Math.random() * users.length)];
      if (follower !== userId) chosen.add(follower);
    }
    followers.set(userId, [...chosen]);
  });
  return { users, followers };
}

const metadata = () => ({ correlationId: uuidV7Ids.next(), causationId: uuidV7Ids.next(), actor: 'bench', schemaVersion: 1 });

/** Each user's follows in one append to their stream, as the follow decider records them; the last position. */
async function appendFollows(store: EventStore, graph: Graph): Promise<bigint> {
  const following = new Map<string, string[]>();
  for (const [followeeId, followers] of graph.followers) for (const followerId of followers) following.set(followerId, [...(following.get(followerId) ?? []), followeeId]);
  const appends = [...following];
  const progress = startProgress('feed: following', appends.length, 'users');
  let last = 0n;
  await timeWorkers(
    Array.from({ length: WRITERS }, (_, writer) => appends.filter((_append, index) => index % WRITERS === writer)),
    async ([followerId, followees]) => {
      const events = followees.map((followeeId): EventToAppend<UserFollowed> => ({ ...followed(followerId, followeeId), eventId: uuidV7Ids.next(), metadata: metadata() }));
      const appended = await store.append(userStreamId(followerId), events, { expectedVersion: 'no_stream' });
      if (appended.position > last) last = appended.position;
      progress.advance();
    },
  );
  progress.stop();
  return last;
}

/** Appends the posts and waits until the feed read model shows the last; the seconds it took, checked against the rows it must hold. */
async function throughThePipeline(baseUrl: string, reader: string, store: EventStore, pool: Pool, posts: readonly Post[], rows: number): Promise<number> {
  const label = 'feed: posts through the pipeline';
  const progress = startProgress(label, posts.length, 'posts');
  let last = 0n;
  const started = performance.now();
  await timeWorkers(
    Array.from({ length: WRITERS }, (_, writer) => posts.filter((_post, index) => index % WRITERS === writer)),
    async (post) => {
      const appended = await store.append(postStreamId(post.postId), [{ ...published(post), eventId: uuidV7Ids.next(), metadata: metadata() }], { expectedVersion: 'no_stream' });
      if (appended.position > last) last = appended.position;
      progress.advance();
    },
  );
  progress.stop();
  await caughtUp(baseUrl, reader, last, label);
  const seconds = (performance.now() - started) / 1000;
  await expectRows(pool, 'feed_items', posts, rows, label);
  return seconds;
}

const followed = (followerId: string, followeeId: string): UserFollowed => ({ type: 'UserFollowed', data: { followerId, followeeId } });
const published = ({ postId, authorId, publishedAt }: Post): PostPublished => ({ type: 'PostPublished', data: { postId, authorId, text: `bench post ${postId}`, publishedAt } });

let position = 0n;
/** An event as the store would have recorded it (positions of the bench's own). */
const recorded = (event: Message, streamId: string): RecordedEvent => ({ ...event, eventId: uuidV7Ids.next(), streamId, streamVersion: 0, metadata: metadata(), position: ++position, recordedAt: new Date() });

/** The graph's follows in the copies of the feed's tables (not timed). */
async function followInCopies(pool: Pool, projection: Projection, tables: ProjectionTables, graph: Graph): Promise<void> {
  const follows = [...graph.followers].flatMap(([followeeId, followers]) => followers.map((followerId) => recorded(followed(followerId, followeeId), userStreamId(followerId))));
  for (let from = 0; from < follows.length; from += BATCH) await inTransaction(pool, (db) => projection.apply(db, follows.slice(from, from + BATCH), tables));
}

/** The posts as the projector gets them: by partition of their stream, in batches of up to 500. */
function inBatches(posts: readonly Post[], partitions: number): Post[][][] {
  const perPartition = Array.from({ length: partitions }, (): Post[][] => [[]]);
  for (const post of posts) {
    const batches = perPartition[partitionOf(postStreamId(post.postId), partitions)];
    if (batches[batches.length - 1].length === BATCH) batches.push([]);
    batches[batches.length - 1].push(post);
  }
  return perPartition;
}

/** The feed projection applying the batches, each in a transaction as the projector does, with after-commit work run; the seconds it took. */
async function fanOut(pool: Pool, projection: Projection, tables: ProjectionTables, batches: readonly Post[][][], rows: number, label: string): Promise<number> {
  const events = batches.map((partition) => partition.map((batch) => batch.map((post) => recorded(published(post), postStreamId(post.postId)))));
  const progress = startProgress(label, POSTS, 'posts');
  const seconds = await timeWorkers(events, async (batch) => {
    const afterCommit: (() => void)[] = [];
    await inTransaction(pool, (db) => projection.apply(db, batch, tables, (work) => afterCommit.push(work)));
    for (const work of afterCommit) work();
    progress.advance(batch.length);
  });
  progress.stop();
  await expectRows(pool, tables.feed_items, batches.flat(2), rows, label);
  return seconds;
}

/** The same rows as multi-row INSERTs into the scratch table, a statement per batch, a connection per partition; the seconds it took. */
async function insertRaw(pool: Pool, table: string, graph: Graph, batches: readonly Post[][][], label: string): Promise<number> {
  const statements = batches.map((partition) =>
    partition.map((batch) => {
      const rows = batch.flatMap((post) => (graph.followers.get(post.authorId) ?? []).map((follower) => [follower, post.publishedAt, post.postId] as const));
      return { posts: batch.length, values: [rows.map((row) => row[0]), rows.map((row) => row[1]), rows.map((row) => row[2])] };
    }),
  );
  const progress = startProgress(label, POSTS, 'posts');
  const seconds = await timeWorkers(statements, async ({ posts, values }) => {
    await pool.query(
      `INSERT INTO ${quoteIdentifier(table)} (user_id, created_at, post_id, shared_by)
       SELECT user_id, created_at, post_id, '' FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS r (user_id, created_at, post_id)
       ON CONFLICT DO NOTHING`,
      values,
    );
    progress.advance(posts);
  });
  progress.stop();
  return seconds;
}

async function expectRows(pool: Pool, table: string, posts: readonly Post[], rows: number, label: string): Promise<void> {
  const { rows: counted } = await pool.query<{ rows: string }>(`SELECT count(*) AS rows FROM ${quoteIdentifier(table)} WHERE post_id = ANY($1::text[])`, [posts.map((post) => post.postId)]);
  if (Number(counted[0].rows) !== rows) throw new Error(`${label}: ${table} holds ${counted[0].rows} rows of these posts, not the ${rows} their authors' followers make`);
}

/** Response times (ms) of `GET /feed` of random users at READ_RATE for `seconds`; any answer but 200 fails the bench. */
async function readFeeds(api: BenchApi, tokens: readonly string[], seconds: number, label: string): Promise<number[]> {
  return atFixedRate(READ_RATE, seconds, label, () => requestJson(api.baseUrl, tokens[Math.floor(Math.random() * tokens.length)], 'GET', '/feed'));
}

/** Waits until the feed read model answers `?minPosition=` (it waits 5 s per try, then 503). */
async function caughtUp(baseUrl: string, token: string, position: bigint, what: string): Promise<void> {
  const deadline = performance.now() + CAUGHT_UP_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(`${baseUrl}/feed?limit=1&minPosition=${position}`, { headers: { authorization: `Bearer ${token}` } });
    if (response.ok) return;
    if (response.status !== 503) throw new Error(`GET /feed answered ${response.status}: ${await response.text()}`);
    if (performance.now() > deadline) throw new Error(`the feed read model did not reach position ${position} (${what}) within ${CAUGHT_UP_TIMEOUT_MS / 60_000} minutes`);
    process.stderr.write(`feed: ${what} not in the feed read model yet (position ${position})\n`);
  }
}
