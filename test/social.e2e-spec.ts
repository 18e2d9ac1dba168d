import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from '@tidings/testing';
import { useTidingsApi } from './api-harness';

type Answer = { status: number; headers: Headers; body: Record<string, unknown> | null };
type FeedItem = { postId: string; authorId: string; text: string; likes: number; comments: number; shares: number; createdAt: string; sharedBy?: string };
type Page<Item> = { items: Item[]; nextCursor: string | null };
type LiveMessage = { channel: string | null; type: string; data: Record<string, unknown> | null };

const USERS = ['alice', 'bob', 'carol', 'dave', 'star', 'f1', 'f2', 'f3', 'reader', 'writer', 'other', 'gql', 'author', 'liker'] as const;
type User = (typeof USERS)[number];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POSITION = /^\d+$/;

/** An item's place in a feed: the post, and who shared it if it is a share. */
const keyOf = (item: FeedItem) => (item.sharedBy ? `${item.postId} shared by ${item.sharedBy}` : item.postId);
/** Newest first, ties broken by post id then sharer, as the feed's keyset orders them. */
const newestFirst = (items: readonly FeedItem[]) =>
  [...items].sort((a, b) => {
    const [x, y] = [[a.createdAt, a.postId, a.sharedBy ?? ''], [b.createdAt, b.postId, b.sharedBy ?? '']];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? 1 : -1;
    return 0;
  });

/**
 * Social and the newsfeed end to end, against `tidings start` with every role and a celebrity
 * threshold of 3 followers: authors with 3 or more followers are pulled at read time, the
 * others fanned out on write. Each test uses users of its own.
 */
describe('social: follows, posts, likes, comments, shares and the newsfeed', () => {
  const api = useTidingsApi({ TIDINGS_CELEBRITY_FOLLOWERS: '3' });
  const tokens = {} as Record<User, string>;

  beforeAll(async () => {
    const issued = await api.tokens(USERS.map((userId) => ({ userId, roles: ['customer'] })));
    USERS.forEach((userId, index) => (tokens[userId] = issued[index]));
  });

  const call = async (user: User | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { ...(user ? { authorization: `Bearer ${tokens[user]}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  /** A GET once the feed read model has applied `position` (503 while it catches up). */
  const answerAt = (user: User, path: string, position: string): Promise<Answer> =>
    eventually(
      async () => {
        const read = await call(user, 'GET', `${path}${path.includes('?') ? '&' : '?'}minPosition=${position}`);
        expect(read.status).toBe(200);
        return read;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  const readAt = async <T = Record<string, unknown>>(user: User, path: string, position: string): Promise<T> => (await answerAt(user, path, position)).body as T;
  /** A 204 command: its position is only in X-Position. */
  const command204 = async (user: User, method: string, path: string): Promise<string> => {
    const answer = await call(user, method, path);
    expect(answer).toMatchObject({ status: 204, body: null });
    return answer.headers.get('x-position') as string;
  };
  const followUser = (follower: User, followee: User) => command204(follower, 'POST', `/users/${followee}/follow`);
  const publish = async (author: User, text: string): Promise<{ postId: string; position: string }> => {
    const published = await call(author, 'POST', '/posts', { text });
    expect(published).toMatchObject({ status: 201, body: { postId: expect.stringMatching(UUID), position: expect.stringMatching(POSITION) } });
    return published.body as { postId: string; position: string };
  };
  const share = async (sharer: User, postId: string): Promise<string> => {
    const shared = await call(sharer, 'POST', `/posts/${postId}/share`);
    expect(shared).toMatchObject({ status: 201, body: { postId, position: expect.stringMatching(POSITION) } });
    return shared.body?.position as string;
  };
  /** The whole feed at `position`, page by page. */
  const wholeFeed = async (user: User, position: string, limit = 50): Promise<FeedItem[]> => {
    const items: FeedItem[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<FeedItem> = await readAt<Page<FeedItem>>(user, `/feed?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, position);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };
  const highest = (...positions: string[]) => positions.reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b));

  it('follows and unfollows as the caller, and lists followers and following in pages', async () => {
    const positions = [await followUser('alice', 'bob'), await followUser('carol', 'bob'), await followUser('dave', 'bob'), await followUser('alice', 'carol')];
    expect(positions.every((position) => POSITION.test(position))).toBe(true);
    // Following again is what the caller already has: nothing is recorded, and the position says where that can be read.
    const again = await followUser('alice', 'bob');
    expect(BigInt(again)).toBeGreaterThanOrEqual(BigInt(positions[0]));

    const first = await readAt<Page<{ userId: string; followedAt: string }>>('bob', '/users/bob/followers?limit=2', highest(...positions));
    expect(first).toEqual({ items: [{ userId: 'alice', followedAt: expect.any(String) }, { userId: 'carol', followedAt: expect.any(String) }], nextCursor: expect.any(String) });
    expect(await readAt('bob', `/users/bob/followers?limit=2&cursor=${first.nextCursor}`, highest(...positions))).toEqual({ items: [{ userId: 'dave', followedAt: expect.any(String) }], nextCursor: null });
    expect(await readAt('carol', '/users/alice/following', highest(...positions))).toEqual({ items: [{ userId: 'bob', followedAt: expect.any(String) }, { userId: 'carol', followedAt: expect.any(String) }], nextCursor: null });

    const unfollowed = await command204('alice', 'DELETE', '/users/bob/follow');
    expect((await readAt<Page<{ userId: string }>>('alice', '/users/bob/followers', unfollowed)).items.map((item) => item.userId)).toEqual(['carol', 'dave']);
  });

  it('publishes, reads, likes once per user, comments on and shares posts, with counts read fresh', async () => {
    const published = await call('bob', 'POST', '/posts', { text: 'Hello, world 👋' });
    expect(published).toMatchObject({ status: 201, body: { postId: expect.stringMatching(UUID), position: expect.stringMatching(POSITION) } });
    const { postId, position } = published.body as { postId: string; position: string };
    expect(published.headers.get('x-position')).toBe(position);
    expect(published.headers.get('location')).toBe(`/posts/${postId}`);
    expect(await readAt('alice', `/posts/${postId}`, position)).toEqual({ postId, authorId: 'bob', text: 'Hello, world 👋', likes: 0, comments: 0, shares: 0, createdAt: expect.any(String) });

    const liked = await command204('alice', 'POST', `/posts/${postId}/like`);
    // Liking again (the id in capitals: a UUID is read without regard to case) changes nothing; the answer still says where the like can be read.
    expect(BigInt(await command204('alice', 'POST', `/posts/${postId.toUpperCase()}/like`))).toBeGreaterThanOrEqual(BigInt(liked));
    await command204('carol', 'POST', `/posts/${postId}/like`);
    await command204('carol', 'DELETE', `/posts/${postId}/like`);
    const commented = await call('alice', 'POST', `/posts/${postId}/comments`, { text: 'Nice one' });
    expect(commented).toMatchObject({ status: 201, body: { commentId: expect.stringMatching(UUID), position: expect.stringMatching(POSITION) } });
    const last = await share('dave', postId);

    expect(await readAt('carol', `/posts/${postId.toUpperCase()}`, last)).toMatchObject({ postId, likes: 1, comments: 1, shares: 1 });
    expect(await readAt('carol', `/posts/${postId}/comments`, last)).toEqual({
      items: [{ commentId: commented.body?.commentId, postId, authorId: 'alice', text: 'Nice one', createdAt: expect.any(String) }],
      nextCursor: null,
    });
    expect(await readAt('carol', '/users/bob/posts', last)).toEqual({ items: [expect.objectContaining({ postId, likes: 1, comments: 1, shares: 1 })], nextCursor: null });

    // A retry under the same Idempotency-Key names the same post and publishes it once.
    const before = await api.eventCount();
    const headers = { 'idempotency-key': 'post-once' };
    const once = await call('bob', 'POST', '/posts', { text: 'Once' }, headers);
    const again = await call('bob', 'POST', '/posts', { text: 'Once' }, headers);
    expect(once.status).toBe(201);
    expect(again).toMatchObject({ status: 201, body: once.body });
    expect(await api.eventCount()).toBe(before + 1);
  });

  it('answers a post\'s stream version as its ETag, and runs a command under If-Match only at that version', async () => {
    const versioned = (answer: Answer, status: number) => {
      expect(answer.status).toBe(status);
      return { etag: answer.headers.get('etag'), position: answer.headers.get('x-position') as string };
    };
    const published = await call('author', 'POST', '/posts', { text: 'Versioned' });
    expect(versioned(published, 201).etag).toBe('"0"');
    const { postId } = published.body as { postId: string };
    const streamVersion = async () => (await api.eventTypes(`post-${postId}`)).length - 1;

    const liked = versioned(await call('liker', 'POST', `/posts/${postId}/like`), 204);
    expect(liked.etag).toBe('"1"');
    const commented = versioned(await call('author', 'POST', `/posts/${postId}/comments`, { text: 'First' }), 201);
    expect(commented.etag).toBe('"2"');
    const read = await answerAt('liker', `/posts/${postId}`, commented.position);
    expect(read.headers.get('etag')).toBe(`"${await streamVersion()}"`);
    expect(read.headers.get('etag')).toBe('"2"');
    // The version is the header's, not the body's (API.md lists none for posts).
    expect(read.body).toEqual({ postId, authorId: 'author', text: 'Versioned', likes: 1, comments: 1, shares: 0, createdAt: expect.any(String) });

    // A stale ETag: refused, nothing appended, the like not counted.
    const before = await api.eventCount();
    const stale = await call('author', 'POST', `/posts/${postId}/like`, undefined, { 'if-match': liked.etag! });
    expect(stale).toMatchObject({ status: 409, body: { type: expect.stringMatching(/wrong-expected-version$/) } });
    expect(stale.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await api.eventCount()).toBe(before);
    expect(await readAt('liker', `/posts/${postId}`, commented.position)).toMatchObject({ likes: 1 });

    // The current ETag: each command runs and answers the next version; a like that changes nothing keeps it.
    const likedAgain = versioned(await call('author', 'POST', `/posts/${postId}/like`, undefined, { 'if-match': read.headers.get('etag')! }), 204);
    expect(likedAgain.etag).toBe('"3"');
    expect(versioned(await call('author', 'POST', `/posts/${postId}/like`, undefined, { 'if-match': '"3"' }), 204).etag).toBe('"3"');
    const headers = { 'if-match': '"3"', 'idempotency-key': `comment-${postId}` };
    const second = await call('liker', 'POST', `/posts/${postId}/comments`, { text: 'Second' }, headers);
    expect(versioned(second, 201).etag).toBe('"4"');
    // A retry under the same key replays the answer, its ETag with it, though "3" is stale now.
    const replayed = await call('liker', 'POST', `/posts/${postId}/comments`, { text: 'Second' }, headers);
    expect({ status: replayed.status, body: replayed.body, etag: replayed.headers.get('etag'), replayed: replayed.headers.get('idempotent-replayed') }).toEqual({
      status: 201,
      body: second.body,
      etag: '"4"',
      replayed: 'true',
    });
    const shared = versioned(await call('liker', 'POST', `/posts/${postId}/share`, undefined, { 'if-match': '"4"' }), 201);
    expect(shared.etag).toBe('"5"');
    const unliked = versioned(await call('liker', 'DELETE', `/posts/${postId}/like`, undefined, { 'if-match': '"5"' }), 204);
    expect(unliked.etag).toBe('"6"');

    const last = await answerAt('author', `/posts/${postId}`, unliked.position);
    expect({ etag: last.headers.get('etag'), likes: last.body?.likes, comments: last.body?.comments, shares: last.body?.shares }).toEqual({ etag: '"6"', likes: 1, comments: 2, shares: 1 });
    expect(await streamVersion()).toBe(6);

    // An If-Match that is not an ETag this API gave is 400, and nothing is appended.
    const unchanged = await api.eventCount();
    for (const ifMatch of ['latest', '6', '"six"']) {
      for (const [method, path, body] of [
        ['POST', `/posts/${postId}/like`, undefined],
        ['DELETE', `/posts/${postId}/like`, undefined],
        ['POST', `/posts/${postId}/comments`, { text: 'Third' }],
        ['POST', `/posts/${postId}/share`, undefined],
      ] as const) {
        const refused = await call('author', method, path, body, { 'if-match': ifMatch });
        expect({ ifMatch, method, path, status: refused.status, type: refused.body?.type }).toEqual({ ifMatch, method, path, status: 400, type: expect.stringMatching(/invalid-request$/) });
      }
    }
    expect(await api.eventCount()).toBe(unchanged);

    // A post that does not exist is 404 with If-Match too, not a version conflict.
    const missing = await call('author', 'POST', '/posts/00000000-0000-4000-8000-000000000000/like', undefined, { 'if-match': '"0"' });
    expect({ status: missing.status, type: missing.body?.type }).toEqual({ status: 404, type: expect.stringMatching(/post-not-found$/) });

    // OpenAPI names the header on each command.
    const docs = (await (await fetch(`${api.baseUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    const commands = ['post /posts/{id}/like', 'delete /posts/{id}/like', 'post /posts/{id}/comments', 'post /posts/{id}/share'];
    const takesIfMatch = (command: string) => {
      const [method, path] = command.split(' ');
      return docs.paths[path]?.[method]?.parameters?.some((parameter) => parameter.in === 'header' && parameter.name === 'If-Match') ?? false;
    };
    expect(commands.filter((command) => !takesIfMatch(command))).toEqual([]);
  });

  it('shows each follower the posts and shares of whom they follow, newest first, celebrities pulled at read time', async () => {
    // star has 3 followers, a celebrity at the threshold of 3; writer has one.
    const follows = [await followUser('f1', 'star'), await followUser('f2', 'star'), await followUser('f3', 'star'), await followUser('f1', 'writer')];
    // The counts that decide fan-out are the read model's: the posts come after it has applied the follows.
    await readAt('f1', '/feed?limit=1', highest(...follows));
    const w1 = await publish('writer', 'w1');
    const s1 = await publish('star', 's1');
    const w2 = await publish('writer', 'w2');
    const shared = await share('star', w1.postId);
    const head = highest(...follows, w1.position, s1.position, w2.position, shared);

    const f1Feed = await wholeFeed('f1', head, 2);
    expect(f1Feed.map(keyOf).sort()).toEqual([`${w1.postId} shared by star`, w2.postId, s1.postId, w1.postId].sort());
    expect(f1Feed).toEqual(newestFirst(f1Feed));
    expect(f1Feed.find((item) => item.sharedBy === 'star')).toMatchObject({ postId: w1.postId, authorId: 'writer', text: 'w1', shares: 1 });
    expect((await wholeFeed('f2', head)).map(keyOf).sort()).toEqual([`${w1.postId} shared by star`, s1.postId].sort());
    // Nobody follows themselves: an author's own posts are not in their feed.
    expect(await wholeFeed('star', head)).toEqual([]);

    // The celebrity's post and share were pulled, never written to followers' feeds; the ordinary author's were fanned out.
    const fannedOut = async (postId: string) => (await api.pool.query<{ user_id: string }>('SELECT user_id FROM feed_items WHERE post_id = $1 ORDER BY 1', [postId])).rows.map((row) => row.user_id);
    expect(await fannedOut(s1.postId)).toEqual([]);
    expect(await fannedOut(w1.postId)).toEqual(['f1']);
    expect(await fannedOut(w2.postId)).toEqual(['f1']);

    const unfollowed = await command204('f1', 'DELETE', '/users/star/follow');
    expect((await wholeFeed('f1', unfollowed)).map(keyOf).sort()).toEqual([w1.postId, w2.postId].sort());
    const refollowed = await followUser('f1', 'star');
    expect((await wholeFeed('f1', refollowed)).map(keyOf).sort()).toEqual(f1Feed.map(keyOf).sort());
  });

  it('pages the feed by keyset: no item repeated or skipped while newer posts arrive', async () => {
    const followed = await followUser('reader', 'carol');
    const posts: { postId: string; position: string }[] = [];
    for (let i = 0; i < 7; i++) posts.push(await publish('carol', `page ${i}`));
    const head = highest(followed, ...posts.map((post) => post.position));

    const first = await readAt<Page<FeedItem>>('reader', '/feed?limit=3', head);
    expect(first.items).toHaveLength(3);
    const newer = [await publish('carol', 'newer 1'), await publish('carol', 'newer 2')];
    const rest: FeedItem[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await readAt<Page<FeedItem>>('reader', `/feed?limit=3&cursor=${cursor}`, newer[1].position);
      rest.push(...page.items);
      cursor = page.nextCursor;
    }
    const paged = [...first.items, ...rest];
    expect(paged.map((item) => item.postId).sort()).toEqual(posts.map((post) => post.postId).sort());
    expect(paged).toEqual(newestFirst(paged));
    // The newer posts are on a new first page.
    const fresh = await readAt<Page<FeedItem>>('reader', '/feed?limit=2', newer[1].position);
    expect(fresh.items.map((item) => item.postId).sort()).toEqual(newer.map((post) => post.postId).sort());

    const refused = await call('reader', 'GET', '/feed?cursor=bm90LWEtY3Vyc29y');
    expect(refused).toMatchObject({ status: 400, body: { errors: [{ path: 'query.cursor' }] } });
    // A cursor of ours with its time edited to a year PostgreSQL has no room for.
    const decoded = Buffer.from(first.nextCursor as string, 'base64url').toString('utf8');
    expect(decoded.startsWith('feed:')).toBe(true);
    const [, ...keys] = JSON.parse(decoded.slice('feed:'.length)) as unknown[];
    const edited = Buffer.from(`feed:${JSON.stringify(['0000-01-01T00:00:00Z', ...keys])}`, 'utf8').toString('base64url');
    expect(await call('reader', 'GET', `/feed?cursor=${edited}`)).toMatchObject({ status: 400, body: { errors: [{ path: 'query.cursor' }] } });
    // A cursor of another list, of the same shape, is not the feed's.
    const postsPage = await readAt<Page<{ postId: string }>>('reader', '/users/carol/posts?limit=1', newer[1].position);
    expect(postsPage.nextCursor).not.toBeNull();
    expect(await call('reader', 'GET', `/feed?cursor=${postsPage.nextCursor}`)).toMatchObject({ status: 400, body: { errors: [{ path: 'query.cursor', message: 'not a cursor this API returned for feed' }] } });
  });

  it('lets a user read only their own feed, over REST, GraphQL and the WebSocket', async () => {
    expect((await call(null, 'GET', '/feed')).status).toBe(401);
    const other = await call('other', 'GET', '/feed?userId=f1');
    expect(other).toMatchObject({ status: 400, body: { type: expect.stringMatching(/invalid-request$/) } });
    expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const graphqlFeed = await graphql('other', '{ feed(limit: 5) { items { postId } nextCursor } }');
    expect(graphqlFeed).toEqual({ data: { feed: { items: [], nextCursor: null } } });
    const refusedArgument = await graphql('other', '{ feed(userId: "f1") { items { postId } } }');
    expect(refusedArgument.errors?.[0].message).toMatch(/userId/);

    const socket = await connect('other');
    try {
      socket.send({ type: 'subscribe', channel: 'feed:f1' });
      expect((await socket.next((message) => message.channel === 'feed:f1')).data).toMatchObject({ status: 404 });
    } finally {
      socket.socket.close();
    }
  });

  it('pushes a new feed item to its follower on the feed channel and feedUpdated, and to nobody else', async () => {
    const follows = [await followUser('dave', 'alice'), await followUser('other', 'gql')];
    const graphqlUrl = `${api.baseUrl.replace('http', 'ws')}/graphql`;
    const subscriber = createClient({ url: graphqlUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${tokens.dave}` } });
    const dave = await connect('dave');
    const stranger = await connect('other');
    try {
      // Followed before the post, so it is fanned out (and told) rather than brought in by the follow's backfill.
      await readAt('dave', '/feed?limit=1', highest(...follows));
      dave.send({ type: 'subscribe', channel: 'feed' });
      stranger.send({ type: 'subscribe', channel: 'feed' });
      await dave.next((message) => message.type === 'subscribed');
      await stranger.next((message) => message.type === 'subscribed');
      const heard = listen(subscriber, 'subscription { feedUpdated { postId authorId text createdAt sharedBy } }');

      const post = await publish('alice', 'Live!');
      const item = await dave.next((message) => message.channel === 'feed' && message.type === 'item');
      expect(item).toEqual({ channel: 'feed', type: 'item', data: { postId: post.postId, authorId: 'alice', text: 'Live!', createdAt: expect.any(String) } });
      // The subscription is live some moments after it is sent: post until one is heard.
      const posted = [post.postId];
      await eventually(
        async () => {
          if (!heard.some((update) => posted.includes(update.postId as string))) posted.push((await publish('alice', 'Live again')).postId);
          expect(heard.some((update) => posted.includes(update.postId as string))).toBe(true);
        },
        { timeoutMs: 20_000, intervalMs: 500 },
      );
      expect(heard.every((update) => update.authorId === 'alice' && update.sharedBy === null)).toBe(true);

      const shared = await share('alice', (await publish('carol', 'To share')).postId);
      expect((await dave.next((message) => message.type === 'item' && message.data?.sharedBy === 'alice')).data).toMatchObject({ authorId: 'carol', text: 'To share' });
      expect(POSITION.test(shared)).toBe(true);

      // The stranger hears its own followee's post, and never heard dave's items, which came before it.
      const own = await publish('gql', 'For other');
      expect((await stranger.next((message) => message.type === 'item')).data).toMatchObject({ postId: own.postId, authorId: 'gql' });
      expect(stranger.received.filter((message) => message.type === 'item')).toHaveLength(1);
    } finally {
      dave.socket.close();
      stranger.socket.close();
      await subscriber.dispose();
    }
  });

  it('serves the feed, posts and the social mutations over GraphQL with the same rules', async () => {
    const followed = await graphql('gql', 'mutation { follow(userId: "bob") { position } }');
    expect(followed).toEqual({ data: { follow: { position: expect.stringMatching(POSITION) } } });
    const published = await graphql('bob', 'mutation { publishPost(text: "Over GraphQL") { postId position } }');
    const { postId } = (published.data?.publishPost ?? {}) as { postId: string };
    expect(postId).toMatch(UUID);
    expect((await graphql('gql', `mutation { likePost(postId: "${postId}") { position } }`)).errors).toBeUndefined();
    expect((await graphql('carol', `mutation { likePost(postId: "${postId}") { position } }`)).errors).toBeUndefined();
    expect((await graphql('carol', `mutation { unlikePost(postId: "${postId}") { position } }`)).errors).toBeUndefined();
    const commented = await graphql('gql', `mutation { commentOnPost(postId: "${postId}", text: "Indeed") { commentId position } }`);
    expect(commented.data?.commentOnPost).toEqual({ commentId: expect.stringMatching(UUID), position: expect.stringMatching(POSITION) });
    const shared = await graphql('carol', `mutation { sharePost(postId: "${postId}") { postId position } }`);
    const { position } = shared.data?.sharePost as { position: string };

    const read = await graphql('gql', `{ post(postId: "${postId}", minPosition: "${position}") { authorId text likes comments shares version } }`);
    // Published, liked twice, unliked, commented on, shared: the stream's sixth event.
    expect(read).toEqual({ data: { post: { authorId: 'bob', text: 'Over GraphQL', likes: 1, comments: 1, shares: 1, version: 5 } } });

    // expectedVersion, as REST's If-Match: a stale one is refused with nothing appended; the current one goes through.
    const beforeStale = await api.eventCount();
    const stale = await graphql('carol', `mutation { likePost(postId: "${postId}", expectedVersion: 4) { position } }`);
    expect(stale.errors?.[0].extensions).toMatchObject({ status: 409, type: expect.stringMatching(/wrong-expected-version$/) });
    for (const mutation of [`unlikePost(postId: "${postId}", expectedVersion: 4) { position }`, `commentOnPost(postId: "${postId}", text: "Late", expectedVersion: 4) { commentId }`, `sharePost(postId: "${postId}", expectedVersion: 4) { postId }`]) {
      expect((await graphql('gql', `mutation { ${mutation} }`)).errors?.[0].extensions).toMatchObject({ status: 409 });
    }
    expect(await api.eventCount()).toBe(beforeStale);
    const current = await graphql('carol', `mutation { likePost(postId: "${postId}", expectedVersion: 5) { position } }`);
    expect(current.errors).toBeUndefined();
    const relike = await graphql('gql', `{ post(postId: "${postId}", minPosition: "${(current.data?.likePost as { position: string }).position}") { likes version } }`);
    expect(relike.data?.post).toEqual({ likes: 2, version: 6 });
    const feed = await graphql('gql', `{ feed(limit: 100, minPosition: "${position}") { items { postId authorId sharedBy } nextCursor } }`);
    expect((feed.data?.feed as { items: unknown[] }).items).toContainEqual({ postId, authorId: 'bob', sharedBy: null });
    expect((await graphql('gql', '{ post(postId: "0190a000-0000-7000-8000-000000000000") { postId } }')).data).toEqual({ post: null });

    const self = await graphql('gql', 'mutation { follow(userId: "gql") { position } }');
    expect(self.errors?.[0].extensions).toMatchObject({ status: 422, type: expect.stringMatching(/self-follow$/) });
    const missing = await graphql('gql', 'mutation { likePost(postId: "0190a000-0000-7000-8000-000000000000") { position } }');
    expect(missing.errors?.[0].extensions).toMatchObject({ status: 404, type: expect.stringMatching(/post-not-found$/) });
    const unfollowed = await graphql('gql', 'mutation { unfollow(userId: "bob") { position } }');
    expect(unfollowed.errors).toBeUndefined();

    // Each mutation of a request under an Idempotency-Key is a command of its own; a retry replays them all, once.
    const before = await api.eventCount();
    const twoPosts = 'mutation { first: publishPost(text: "One") { postId } second: publishPost(text: "Two") { postId } }';
    const both = await graphql('gql', twoPosts, { 'idempotency-key': 'two-posts' });
    const [first, second] = [both.data?.first, both.data?.second] as { postId: string }[];
    expect(first.postId).toMatch(UUID);
    expect(second.postId).toMatch(UUID);
    expect(second.postId).not.toBe(first.postId);
    expect(await graphql('gql', twoPosts, { 'idempotency-key': 'two-posts' })).toEqual(both);
    expect(await api.eventCount()).toBe(before + 2);
  });

  it('answers problem+json for missing posts, self-follows and invalid input, and appends nothing', async () => {
    const missing = '0190a000-0000-7000-8000-0000000000ff';
    const before = await api.eventCount();
    const refusals: [User | null, string, string, unknown, number, RegExp][] = [
      ['alice', 'POST', `/posts/${missing}/like`, undefined, 404, /post-not-found$/],
      ['alice', 'DELETE', `/posts/${missing}/like`, undefined, 404, /post-not-found$/],
      ['alice', 'POST', `/posts/${missing}/comments`, { text: 'Anyone?' }, 404, /post-not-found$/],
      ['alice', 'POST', `/posts/${missing}/share`, undefined, 404, /post-not-found$/],
      ['alice', 'GET', `/posts/${missing}`, undefined, 404, /not-found$/],
      ['alice', 'GET', `/posts/${missing}/comments`, undefined, 404, /not-found$/],
      ['alice', 'POST', '/users/alice/follow', undefined, 422, /self-follow$/],
      ['alice', 'POST', '/posts', { text: '' }, 400, /invalid-request$/],
      ['alice', 'POST', '/posts', { text: '   ' }, 400, /invalid-request$/],
      ['alice', 'POST', '/posts', { text: 'x'.repeat(5_001) }, 400, /invalid-request$/],
      ['alice', 'POST', '/posts', { text: 'nul \u0000' }, 400, /invalid-request$/],
      ['alice', 'POST', '/posts', { text: 'Hi', authorId: 'bob' }, 400, /invalid-request$/],
      ['alice', 'POST', '/posts', {}, 400, /invalid-request$/],
      ['alice', 'POST', `/posts/${missing}/comments`, { text: '' }, 400, /invalid-request$/],
      ['alice', 'POST', '/users/bob/follow', { notify: true }, 400, /invalid-request$/],
      ['alice', 'POST', '/users/not%20a%20user/follow', undefined, 400, /invalid-request$/],
      ['alice', 'POST', '/posts/not-a-uuid/like', undefined, 400, /invalid-request$/],
      ['alice', 'GET', '/posts/not-a-uuid', undefined, 400, /invalid-request$/],
      ['alice', 'GET', `/posts/${missing}?verbose=1`, undefined, 400, /invalid-request$/],
      ['alice', 'GET', '/feed?limit=0', undefined, 400, /invalid-request$/],
      ['alice', 'GET', '/feed?limit=101', undefined, 400, /invalid-request$/],
      ['alice', 'GET', '/users/bob/followers?cursor=%21', undefined, 400, /invalid-request$/],
      [null, 'POST', '/posts', { text: 'Anonymous' }, 401, /unauthorized$/],
      [null, 'POST', '/users/bob/follow', undefined, 401, /unauthorized$/],
    ];
    for (const [user, method, path, body, status, type] of refusals) {
      const answer = await call(user, method, path, body);
      expect({ method, path, status: answer.status, type: answer.body?.type }).toEqual({ method, path, status, type: expect.stringMatching(type) });
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(await api.eventCount()).toBe(before);
  });

  async function graphql(user: User, query: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${api.baseUrl}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    return (await response.json()) as { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { status?: number; type?: string } }[] };
  }

  /** A `/ws` client of the user that records what it receives. */
  async function connect(user: User) {
    const socket = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/ws?token=${tokens[user]}`);
    const received: LiveMessage[] = [];
    socket.on('message', (raw) => received.push(JSON.parse(String(raw)) as LiveMessage));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const next = (predicate: (message: LiveMessage) => boolean) =>
      eventually(
        () => {
          const found = received.find(predicate);
          if (!found) throw new Error(`no such message; received ${JSON.stringify(received)}`);
          return found;
        },
        { timeoutMs: 15_000, intervalMs: 20 },
      );
    return { socket, received, next, send: (message: object) => socket.send(JSON.stringify(message)) };
  }
});

/** What a graphql-ws subscription yields, as it comes. */
function listen(client: Client, query: string): Record<string, unknown>[] {
  const heard: Record<string, unknown>[] = [];
  client.subscribe<{ feedUpdated: Record<string, unknown> }>(
    { query },
    { next: (result) => heard.push(result.data?.feedUpdated ?? { errors: result.errors }), error: (error) => heard.push({ error }), complete: () => undefined },
  );
  return heard;
}
