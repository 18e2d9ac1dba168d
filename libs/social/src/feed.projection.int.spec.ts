import { decidedEvents, type Command, type Decider, type Message, type RecordedEvent } from '@tidings/core';
import { ensureProjection, inTransaction, quoteIdentifier, tablesOf } from '@tidings/read-models';
import { recordedStreams, testCommandMetadata, useTestDatabase } from '@tidings/testing';
import { commentOnPost } from './comment-on-post/comment-on-post';
import { feedProjection, FOLLOW_REACH_DAYS, type FeedItemAdded } from './feed.projection';
import { follow } from './follow/follow';
import { userStreamId, type FollowEvent, type Follows } from './follows';
import { likePost } from './like-post/like-post';
import { postStreamId, type Post, type PostEvent } from './posts';
import { publishPost } from './publish-post/publish-post';
import { sharePost } from './share-post/share-post';
import { postCommented, postLiked, postPublished, postShared, postUnliked, userFollowed, userUnfollowed } from './social.fixture';
import { feedPage, findPost, followerCount, followers, following, postComments, userPosts, type FeedCursor, type FeedItem } from './social.queries';
import { unfollow } from './unfollow/unfollow';
import { unlikePost } from './unlike-post/unlike-post';

/** A stream's events as the store would record them: versions in order, positions increasing across streams. */
const stream = recordedStreams();

/** Minute `n` of the spec's day: a readable clock. */
const at = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

/** Small, seeded and fast (mulberry32): the same scenario on every run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

describe('feed projection on PostgreSQL', () => {
  const { pool } = useTestDatabase();
  const tables = tablesOf(feedProjection({ celebrityFollowers: 1 }), 1);

  beforeAll(async () => {
    await ensureProjection(pool, feedProjection({ celebrityFollowers: 1 }));
  });
  const reset = () => pool.query(`TRUNCATE ${Object.values(tables).map(quoteIdentifier).join(', ')}`);
  beforeEach(reset);

  const applier =
    (celebrityFollowers: number) =>
    (...events: RecordedEvent[]) => {
      const projection = feedProjection({ celebrityFollowers });
      return inTransaction(pool, (db) => projection.apply(db, events, tables));
    };

  /** Every page of a user's feed, `limit` at a time, checking each cursor is where its page ended. */
  async function wholeFeed(userId: string, limit: number): Promise<FeedItem[]> {
    const items: FeedItem[] = [];
    let before: FeedCursor | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await feedPage(pool, { userId, limit, before });
      items.push(...page.items);
      if (!page.next) return items;
      expect(page.items).toHaveLength(limit);
      before = page.next;
    }
    throw new Error(`the feed of ${userId} does not end`);
  }
  const feedIds = async (userId: string, limit = 50) => (await wholeFeed(userId, limit)).map((item) => (item.sharedBy ? `${item.postId} shared by ${item.sharedBy}` : item.postId));
  const feedRowsOf = async (postId: string) =>
    (await pool.query<{ user_id: string }>('SELECT user_id FROM feed_items WHERE post_id = $1 ORDER BY user_id', [postId])).rows.map((row) => row.user_id);

  describe('in any order the partitions apply it', () => {
    const USERS = Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    const THRESHOLD = 5;

    type Reference = {
      following: Map<string, Set<string>>;
      posts: Map<string, { postId: string; authorId: string; text: string; createdAt: string; likedBy: Set<string>; comments: number; sharedBy: Set<string> }>;
      shares: { postId: string; sharerId: string; sharedAt: string }[];
    };

    /**
     * About 300 events decided by the real deciders on a follow graph skewed towards a few
     * popular users, so that with a threshold of 5 some authors are celebrities and some not.
     * Every second event shares its time with the one before, so ties are broken by id.
     */
    function scenario(seed: number) {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
      const popular = () => USERS[Math.floor(USERS.length * random() ** 3)];
      const events: RecordedEvent[] = [];
      const appenders = new Map<string, ReturnType<typeof stream>>();
      const userStates = new Map<string, Follows>();
      const postStates = new Map<string, Post>();
      const postIds: string[] = [];
      let clock = 0;
      let commandId = 0;

      function run<S, C extends Command, E extends Message>(decider: Decider<S, C, E>, states: Map<string, S>, streamId: string, type: C['type'], data: C['data']): void {
        const now = new Date(Date.UTC(2026, 0, 1) + Math.floor(clock / 2) * 1000);
        const command = { type, data, metadata: testCommandMetadata({ commandId: `command-${++commandId}`, now }) } as C;
        let state = states.get(streamId) ?? decider.initialState();
        let decided: readonly E[];
        try {
          decided = decidedEvents(decider.decide(command, state));
        } catch {
          return; // A refused command records nothing, as through the API.
        }
        if (!appenders.has(streamId)) appenders.set(streamId, stream(streamId));
        for (const event of decided) {
          state = decider.evolve(state, event);
          events.push(appenders.get(streamId)!(event, now.toISOString()));
          clock++;
        }
        states.set(streamId, state);
      }

      while (events.length < 300) {
        const roll = random();
        const user = pick(USERS);
        if (roll < 0.35) {
          run(follow, userStates, userStreamId(user), 'FollowUser', { followerId: user, followeeId: popular() });
        } else if (roll < 0.45) {
          const followed = [...(userStates.get(userStreamId(user))?.following ?? [])];
          if (followed.length) run(unfollow, userStates, userStreamId(user), 'UnfollowUser', { followerId: user, followeeId: pick(followed) });
        } else if (roll < 0.7 || postIds.length === 0) {
          const postId = Math.floor(random() * 0xffffff).toString(16).padStart(6, '0');
          const authorId = random() < 0.6 ? popular() : user;
          postIds.push(postId);
          run(publishPost, postStates, postStreamId(postId), 'PublishPost', { postId, authorId, text: `post ${postId} by ${authorId}` });
        } else if (roll < 0.8) {
          const postId = pick(postIds);
          run(sharePost, postStates, postStreamId(postId), 'SharePost', { postId, sharerId: random() < 0.5 ? popular() : user });
        } else if (roll < 0.9) {
          // Likes of few users on recent posts, so that some are taken back and some tried twice.
          const postId = pick(postIds.slice(-5));
          const userId = popular();
          const post = postStates.get(postStreamId(postId));
          const liked = post?.status === 'published' && post.likedBy.has(userId);
          if (liked && random() < 0.5) run(unlikePost, postStates, postStreamId(postId), 'UnlikePost', { postId, userId });
          else run(likePost, postStates, postStreamId(postId), 'LikePost', { postId, userId });
        } else {
          const postId = pick(postIds);
          run(commentOnPost, postStates, postStreamId(postId), 'CommentOnPost', { postId, commentId: `comment-${events.length}`, authorId: user, text: 'well said' });
        }
      }
      return events;
    }

    /** What the feed must show, computed from the events in store order, without the projection. */
    function reference(events: readonly RecordedEvent[]): Reference {
      const ref: Reference = { following: new Map(USERS.map((user) => [user, new Set<string>()])), posts: new Map(), shares: [] };
      for (const event of events as RecordedEvent<FollowEvent | PostEvent>[]) {
        switch (event.type) {
          case 'UserFollowed':
            ref.following.get(event.data.followerId)!.add(event.data.followeeId);
            break;
          case 'UserUnfollowed':
            ref.following.get(event.data.followerId)!.delete(event.data.followeeId);
            break;
          case 'PostPublished': {
            const { postId, authorId, text, publishedAt } = event.data;
            ref.posts.set(postId, { postId, authorId, text, createdAt: publishedAt, likedBy: new Set(), comments: 0, sharedBy: new Set() });
            break;
          }
          case 'PostLiked':
            ref.posts.get(event.data.postId)!.likedBy.add(event.data.userId);
            break;
          case 'PostUnliked':
            ref.posts.get(event.data.postId)!.likedBy.delete(event.data.userId);
            break;
          case 'PostCommented':
            ref.posts.get(event.data.postId)!.comments++;
            break;
          case 'PostShared':
            ref.posts.get(event.data.postId)!.sharedBy.add(event.data.sharerId);
            ref.shares.push(event.data);
            break;
          default: {
            const unhandled: never = event;
            throw new Error(`unexpected ${JSON.stringify(unhandled)}`);
          }
        }
      }
      return ref;
    }

    /** Every post and share of the users `userId` follows, newest first, ties broken by post id, then sharer. */
    function expectedFeed(ref: Reference, userId: string): FeedItem[] {
      const followed = ref.following.get(userId)!;
      const view = (postId: string, createdAt: string, sharedBy?: string): FeedItem => {
        const post = ref.posts.get(postId)!;
        const counts = { likes: post.likedBy.size, comments: post.comments, shares: post.sharedBy.size };
        return { postId, authorId: post.authorId, text: post.text, ...counts, createdAt, ...(sharedBy ? { sharedBy } : {}) };
      };
      const items = [
        ...[...ref.posts.values()].filter((post) => followed.has(post.authorId)).map((post) => view(post.postId, post.createdAt)),
        ...ref.shares.filter((share) => followed.has(share.sharerId)).map((share) => view(share.postId, share.sharedAt, share.sharerId)),
      ];
      const key = (item: FeedItem) => [item.createdAt, item.postId, item.sharedBy ?? ''];
      return items.sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? 1 : -1;
        return 0;
      });
    }

    /** The events in an order partitions could apply them in: each stream's in order, the streams interleaved at random. */
    function interleaved(events: readonly RecordedEvent[], random: () => number): RecordedEvent[] {
      const queues = new Map<string, RecordedEvent[]>();
      for (const event of events) queues.set(event.streamId, [...(queues.get(event.streamId) ?? []), event]);
      const order: RecordedEvent[] = [];
      while (queues.size) {
        const streams = [...queues.keys()];
        const streamId = streams[Math.floor(random() * streams.length)];
        const queue = queues.get(streamId)!;
        order.push(queue.shift()!);
        if (queue.length === 0) queues.delete(streamId);
      }
      return order;
    }

    const events = scenario(20260101);
    const ref = reference(events);
    const random = prng(7);
    const isUserEvent = (event: RecordedEvent) => event.streamId.startsWith('user-');
    // With every post applied first nobody has followers yet: every post is fanned out, to nobody, and backfilled by the follows.
    const orders = [
      { name: 'store order', order: [...events], bothPaths: true },
      { name: 'every post stream before any user stream', order: [...events.filter((event) => !isUserEvent(event)), ...events.filter(isUserEvent)], bothPaths: false },
      { name: 'every user stream before any post stream', order: [...events.filter(isUserEvent), ...events.filter((event) => !isUserEvent(event))], bothPaths: true },
      ...Array.from({ length: 5 }, (_, i) => ({ name: `random interleaving ${i + 1}`, order: interleaved(events, random), bothPaths: true })),
    ].map((ordering, seed) => ({ ...ordering, seed }));

    it('is a scenario with celebrities and ordinary authors, unfollows, shares, likes and comments', () => {
      const types = new Set(events.map((event) => event.type));
      expect([...types].sort()).toEqual(['PostCommented', 'PostLiked', 'PostPublished', 'PostShared', 'PostUnliked', 'UserFollowed', 'UserUnfollowed']);
      const counts = USERS.map((user) => [...ref.following.values()].filter((followed) => followed.has(user)).length);
      expect(counts.filter((count) => count >= THRESHOLD).length).toBeGreaterThanOrEqual(2);
      expect(counts.filter((count) => count > 0 && count < THRESHOLD).length).toBeGreaterThanOrEqual(2);
    });

    it.each(orders)('shows every user the posts and shares of whom they follow, applied in $name', async ({ order, seed, bothPaths }) => {
      const apply = applier(THRESHOLD);
      const batchSizes = prng(seed);
      for (let next = 0; next < order.length; ) {
        const size = 1 + Math.floor(batchSizes() * 25);
        await apply(...order.slice(next, next + size));
        next += size;
      }

      for (const [i, user] of USERS.entries()) {
        expect({ user, feed: await wholeFeed(user, 1 + (i % 6)) }).toEqual({ user, feed: expectedFeed(ref, user) });
      }
      for (const user of USERS) {
        const expectedFollowers = USERS.filter((other) => ref.following.get(other)!.has(user));
        expect({ user, count: await followerCount(pool, user) }).toEqual({ user, count: expectedFollowers.length });
        expect((await followers(pool, { userId: user, limit: 100 })).items.map((item) => item.userId)).toEqual(expectedFollowers);
        expect((await following(pool, { userId: user, limit: 100 })).items.map((item) => item.userId)).toEqual([...ref.following.get(user)!].sort());
      }
      // Each post is at the version of its stream's last event, whatever the batches and their order.
      const lastVersions = new Map(events.filter((event) => !isUserEvent(event)).map((event) => [event.streamId, event.streamVersion]));
      const { rows: versions } = await pool.query<{ post_id: string; version: number }>('SELECT post_id, version FROM posts');
      expect(new Map(versions.map((row) => [postStreamId(row.post_id), row.version]))).toEqual(lastVersions);
      // Both paths were taken: some posts were fanned out on write, others left to be pulled.
      const { rows } = await pool.query<{ fanned_out: boolean }>('SELECT DISTINCT fanned_out FROM posts ORDER BY 1');
      expect(rows.map((row) => row.fanned_out)).toEqual(bothPaths ? [false, true] : [true]);
    });
  });

  describe('at the celebrity threshold of 3 followers', () => {
    const apply = applier(3);
    const userEvents = new Map<string, ReturnType<typeof stream>>();
    const user = (userId: string) => userEvents.get(userId) ?? userEvents.set(userId, stream(userStreamId(userId))).get(userId)!;
    const publish = (postId: string, authorId: string, minute: number) => stream(postStreamId(postId))(postPublished({ postId, authorId, publishedAt: at(minute) }));

    it('fans out the post of an author just below the threshold', async () => {
      await apply(user('f1')(userFollowed('f1', 'near')), user('f2')(userFollowed('f2', 'near')));
      await apply(publish('near-1', 'near', 1));

      expect(await feedRowsOf('near-1')).toEqual(['f1', 'f2']);
      expect(await feedIds('f1')).toEqual(['near-1']);
      expect(await feedIds('f2')).toEqual(['near-1']);
    });

    it('does not fan out the post of an author at the threshold, and still shows it to each follower once', async () => {
      await apply(...['f1', 'f2', 'f3'].map((follower) => user(follower)(userFollowed(follower, 'star'))));
      await apply(publish('star-1', 'star', 1));

      expect(await feedRowsOf('star-1')).toEqual([]);
      for (const follower of ['f1', 'f2', 'f3']) expect(await feedIds(follower)).toEqual(['star-1']);
      expect(await feedIds('nobody')).toEqual([]);
    });

    it('does not fan out the share of a sharer at the threshold, and shows it to the sharer\'s followers', async () => {
      await apply(...['f1', 'f2', 'f3'].map((follower) => user(follower)(userFollowed(follower, 'star'))), user('f4')(userFollowed('f4', 'near')));
      const post = stream(postStreamId('near-1'));
      await apply(post(postPublished({ postId: 'near-1', authorId: 'near', publishedAt: at(1) })));
      await apply(post(postShared('star', { postId: 'near-1', sharedAt: at(2) })), post(postShared('near', { postId: 'near-1', sharedAt: at(3) })));

      expect((await pool.query('SELECT user_id, shared_by FROM feed_items ORDER BY 1, 2')).rows).toEqual([
        { user_id: 'f4', shared_by: '' },
        { user_id: 'f4', shared_by: 'near' },
      ]);
      expect(await feedIds('f1')).toEqual(['near-1 shared by star']);
      expect(await feedIds('f4')).toEqual(['near-1 shared by near', 'near-1']);
    });

    it('tells, after the commit, each item it fanned out: posts and shares, not a celebrity\'s post nor a backfill of what came before the follow', async () => {
      const told: FeedItemAdded[] = [];
      const projection = feedProjection({ celebrityFollowers: 3, onFeedItems: (items) => told.push(...items) });
      const applyTelling = async (...events: RecordedEvent[]) => {
        const afterCommit: (() => void)[] = [];
        await inTransaction(pool, (db) => projection.apply(db, events, tables, (work) => afterCommit.push(work)));
        return afterCommit;
      };
      await apply(...['f1', 'f2', 'f3'].map((follower) => user(follower)(userFollowed(follower, 'star'))), user('f4')(userFollowed('f4', 'near')));
      const post = stream(postStreamId('near-1'));
      const afterCommit = await applyTelling(
        post(postPublished({ postId: 'near-1', authorId: 'near', text: 'Hello', publishedAt: at(1) })),
        stream(postStreamId('star-1'))(postPublished({ postId: 'star-1', authorId: 'star', publishedAt: at(2) })),
        post(postShared('near', { postId: 'near-1', sharedAt: at(3) })),
        post(postShared('star', { postId: 'near-1', sharedAt: at(4) })),
      );
      expect(told).toEqual([]);
      for (const work of afterCommit) work();
      expect(told).toEqual([
        { userId: 'f4', postId: 'near-1', authorId: 'near', text: 'Hello', createdAt: at(1) },
        { userId: 'f4', postId: 'near-1', authorId: 'near', text: 'Hello', createdAt: at(3), sharedBy: 'near' },
      ]);

      // A follow's backfill brings old posts, not news; and without after-commit work (a rebuild) nothing is told.
      expect(await applyTelling(user('f5')(userFollowed('f5', 'near'), at(4)))).toEqual([]);
      await inTransaction(pool, (db) => projection.apply(db, [stream(postStreamId('near-2'))(postPublished({ postId: 'near-2', authorId: 'near', publishedAt: at(5) }))], tables));
      expect(told).toHaveLength(2);
      expect(await feedRowsOf('near-2')).toEqual(['f4', 'f5']);

      // A post newer than a follow whose partition was applied first reaches the follower by the backfill: that is news, and told.
      told.length = 0;
      for (const work of await applyTelling(stream(postStreamId('near-3'))(postPublished({ postId: 'near-3', authorId: 'near', text: 'Later', publishedAt: at(8) })))) work();
      told.length = 0;
      for (const work of await applyTelling(user('f6')(userFollowed('f6', 'near'), at(7)))) work();
      expect(told).toEqual([{ userId: 'f6', postId: 'near-3', authorId: 'near', text: 'Later', createdAt: at(8) }]);
    });

    it('keeps the rows fanned out before an author crossed the threshold, and shows no post twice', async () => {
      await apply(user('f1')(userFollowed('f1', 'riser')), user('f2')(userFollowed('f2', 'riser')));
      await apply(publish('before', 'riser', 1));
      await apply(user('f3')(userFollowed('f3', 'riser')));
      await apply(publish('after', 'riser', 2));

      // f3 followed when riser became a celebrity: the fanned-out post is backfilled, the later one is pulled.
      expect(await feedRowsOf('before')).toEqual(['f1', 'f2', 'f3']);
      expect(await feedRowsOf('after')).toEqual([]);
      for (const follower of ['f1', 'f2', 'f3']) expect(await feedIds(follower, 1)).toEqual(['after', 'before']);

      // Below the threshold again: the pulled post stays pulled, the fanned-out one stays fanned out.
      await apply(user('f3')(userUnfollowed('f3', 'riser')));
      expect(await followerCount(pool, 'riser')).toBe(2);
      expect(await feedIds('f3')).toEqual([]);
      for (const follower of ['f1', 'f2']) expect(await feedIds(follower, 1)).toEqual(['after', 'before']);
    });
  });

  describe('following and unfollowing', () => {
    const apply = applier(3);

    it('reaches FOLLOW_REACH_DAYS back from the follow, the same whether the follow or the posts are applied first, fanned out or pulled', async () => {
      const followedAt = '2026-02-20T00:00:00.000Z';
      const daysBefore = (days: number) => new Date(Date.parse(followedAt) - days * 86_400_000).toISOString();
      /** A follow of `authorId` by each follower, and the author's posts: one past the reach, one within it, one after the follow, and a share past the reach. */
      const history = (authorId: string, followers: readonly string[]) => {
        const posts = [
          { postId: `${authorId}-old`, publishedAt: daysBefore(FOLLOW_REACH_DAYS + 1) },
          { postId: `${authorId}-recent`, publishedAt: daysBefore(FOLLOW_REACH_DAYS - 1) },
          { postId: `${authorId}-new`, publishedAt: '2026-02-20T00:01:00.000Z' },
        ].map(({ postId, publishedAt }) => stream(postStreamId(postId))(postPublished({ postId, authorId, publishedAt })));
        const sharedOld = stream(postStreamId(`${authorId}-shared`));
        const shared = [sharedOld(postPublished({ postId: `${authorId}-shared`, authorId: 'someone', publishedAt: daysBefore(30) })), sharedOld(postShared(authorId, { postId: `${authorId}-shared`, sharedAt: daysBefore(FOLLOW_REACH_DAYS + 2) }))];
        const follows = followers.map((follower) => stream(userStreamId(follower))(userFollowed(follower, authorId), followedAt));
        return { posts: [...shared, ...posts], follows };
      };
      const expected = (authorId: string) => [`${authorId}-new`, `${authorId}-recent`];

      // An ordinary author (one follower: fanned out) and a celebrity (three: pulled), each in both orders.
      const ordinaryFollowsFirst = history('ordinary1', ['r1']);
      await apply(...ordinaryFollowsFirst.follows);
      await apply(...ordinaryFollowsFirst.posts);
      const ordinaryPostsFirst = history('ordinary2', ['r2']);
      await apply(...ordinaryPostsFirst.posts);
      await apply(...ordinaryPostsFirst.follows);
      const celebrityFollowsFirst = history('celebrity1', ['r3', 'r3b', 'r3c']);
      await apply(...celebrityFollowsFirst.follows);
      await apply(...celebrityFollowsFirst.posts);
      const celebrityPostsFirst = history('celebrity2', ['r4', 'r4b', 'r4c']);
      await apply(...celebrityPostsFirst.posts);
      await apply(...celebrityPostsFirst.follows);

      expect(await feedIds('r1')).toEqual(expected('ordinary1'));
      expect(await feedIds('r2')).toEqual(expected('ordinary2'));
      expect(await feedIds('r3')).toEqual(expected('celebrity1'));
      expect(await feedIds('r4')).toEqual(expected('celebrity2'));
    });

    it('removes a followee\'s posts and shares on unfollow and brings them back on refollow', async () => {
      const reader = stream(userStreamId('reader'));
      const other = stream(userStreamId('other'));
      const post = (postId: string, authorId: string, minute: number) => {
        const append = stream(postStreamId(postId));
        return { published: append(postPublished({ postId, authorId, publishedAt: at(minute) })), append };
      };
      await apply(reader(userFollowed('reader', 'alice')), reader(userFollowed('reader', 'bob')), other(userFollowed('other', 'alice')));
      const a1 = post('a1', 'alice', 1);
      const b1 = post('b1', 'bob', 2);
      await apply(a1.published, b1.published, post('a2', 'alice', 3).published);
      await apply(b1.append(postShared('alice', { postId: 'b1', sharedAt: at(4) })));
      expect(await feedIds('reader')).toEqual(['b1 shared by alice', 'a2', 'b1', 'a1']);

      await apply(reader(userUnfollowed('reader', 'alice')));
      expect(await feedIds('reader')).toEqual(['b1']);
      expect(await feedIds('other')).toEqual(['b1 shared by alice', 'a2', 'a1']);
      expect(await followerCount(pool, 'alice')).toBe(1);

      // Published while unfollowed: the refollow's backfill brings it with the rest.
      await apply(post('a3', 'alice', 5).published);
      await apply(reader(userFollowed('reader', 'alice')));
      expect(await feedIds('reader')).toEqual(['a3', 'b1 shared by alice', 'a2', 'b1', 'a1']);
      expect(await following(pool, { userId: 'reader', limit: 10 })).toEqual({
        items: [
          { userId: 'alice', followedAt: '2026-01-01T00:00:00.000Z' },
          { userId: 'bob', followedAt: '2026-01-01T00:00:00.000Z' },
        ],
      });
    });

    it('removes a celebrity\'s pulled posts on unfollow and shows them again on refollow', async () => {
      const fans = ['f1', 'f2', 'f3'].map((follower) => [follower, stream(userStreamId(follower))] as const);
      await apply(...fans.map(([follower, append]) => append(userFollowed(follower, 'star'))));
      await apply(stream(postStreamId('s1'))(postPublished({ postId: 's1', authorId: 'star', publishedAt: at(1) })));
      const [f1, append] = fans[0];
      await apply(append(userUnfollowed(f1, 'star')));
      expect(await feedIds(f1)).toEqual([]);
      await apply(append(userFollowed(f1, 'star')));
      expect(await feedIds(f1)).toEqual(['s1']);
    });

    it('applies a follow, unfollow and refollow in one batch as one after the other', async () => {
      const reader = stream(userStreamId('reader'));
      await apply(reader(userFollowed('reader', 'alice')), stream(postStreamId('a1'))(postPublished({ postId: 'a1', authorId: 'alice', publishedAt: at(1) })));
      await apply(reader(userUnfollowed('reader', 'alice')), reader(userFollowed('reader', 'alice')), reader(userUnfollowed('reader', 'alice')));
      expect(await feedIds('reader')).toEqual([]);
      expect(await followerCount(pool, 'alice')).toBe(0);
      await apply(reader(userFollowed('reader', 'alice')), reader(userUnfollowed('reader', 'alice')), reader(userFollowed('reader', 'alice')));
      expect(await feedIds('reader')).toEqual(['a1']);
      expect(await followerCount(pool, 'alice')).toBe(1);
    });

    it('changes nothing when a batch is applied again', async () => {
      const reader = stream(userStreamId('reader'));
      const post = stream(postStreamId('a1'));
      const batch = [
        reader(userFollowed('reader', 'alice')),
        post(postPublished({ postId: 'a1', authorId: 'alice', publishedAt: at(1) })),
        post(postLiked('bob', 'a1')),
        post(postCommented('c1', { postId: 'a1' })),
        post(postShared('bob', { postId: 'a1' })),
      ];
      await apply(...batch);
      const before = { feed: await wholeFeed('reader', 10), count: await followerCount(pool, 'alice') };
      await apply(...batch);
      expect({ feed: await wholeFeed('reader', 10), count: await followerCount(pool, 'alice') }).toEqual(before);
      expect(before.feed).toEqual([expect.objectContaining({ postId: 'a1', likes: 1, comments: 1, shares: 1 })]);
    });

    it('loses no post when a follow and the followee\'s post are applied at once on two partitions', async () => {
      const follower = await pool.connect();
      try {
        await follower.query('BEGIN');
        await feedProjection({ celebrityFollowers: 3 }).apply(follower, [stream(userStreamId('reader'))(userFollowed('reader', 'alice'))], tables);
        // The post's partition waits for the follow's: neither may miss the other's uncommitted row.
        const published = apply(stream(postStreamId('a1'))(postPublished({ postId: 'a1', authorId: 'alice', publishedAt: at(1) })));
        await new Promise((resolve) => setTimeout(resolve, 200));
        await follower.query('COMMIT');
        await published;
      } finally {
        follower.release();
      }
      expect(await feedIds('reader')).toEqual(['a1']);
    });
  });

  describe('reading', () => {
    const apply = applier(3);

    it('pages through a feed without repeating or skipping an item while newer and older items arrive', async () => {
      const reader = stream(userStreamId('reader'));
      await apply(...['alice', 'star'].map((followeeId) => reader(userFollowed('reader', followeeId))));
      await apply(...['f1', 'f2', 'f3'].map((fan) => stream(userStreamId(fan))(userFollowed(fan, 'star'))));
      const publish = (postId: string, authorId: string, minute: number) => stream(postStreamId(postId))(postPublished({ postId, authorId, publishedAt: at(minute) }));
      // Two posts at minute 10: the post id breaks the tie.
      await apply(...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((minute) => publish(`p${minute}`, minute % 2 ? 'alice' : 'star', minute)), publish('p10b', 'alice', 10));

      const first = await feedPage(pool, { userId: 'reader', limit: 3 });
      expect(first.items.map((item) => item.postId)).toEqual(['p10b', 'p10', 'p9']);
      expect(first.next).toEqual({ createdAt: at(9), postId: 'p9', sharedBy: '' });

      // Newer posts (fanned out and pulled), an older one of each kind, and an older share.
      const sharedPost = stream(postStreamId('old'));
      await apply(publish('new-a', 'alice', 20), publish('new-s', 'star', 21), publish('old-a', 'alice', 5), publish('old-s', 'star', 4), sharedPost(postPublished({ postId: 'old', authorId: 'zed', publishedAt: at(0) })));
      await apply(sharedPost(postShared('alice', { postId: 'old', sharedAt: at(6) })));

      const rest: FeedItem[] = [];
      for (let before = first.next; before; ) {
        const page = await feedPage(pool, { userId: 'reader', limit: 3, before });
        rest.push(...page.items);
        before = page.next;
      }
      const ids = [...first.items, ...rest].map((item) => (item.sharedBy ? `${item.postId} shared by ${item.sharedBy}` : item.postId));
      expect(ids).toEqual(['p10b', 'p10', 'p9', 'p8', 'p7', 'p6', 'old shared by alice', 'p5', 'old-a', 'p4', 'old-s', 'p3', 'p2', 'p1']);
      expect(await feedIds('reader')).toEqual(['new-s', 'new-a', ...ids]);
    });

    it('reads likes, comments and shares fresh on every read', async () => {
      await apply(stream(userStreamId('reader'))(userFollowed('reader', 'alice')));
      const post = stream(postStreamId('a1'));
      await apply(post(postPublished({ postId: 'a1', authorId: 'alice', text: 'counted', publishedAt: at(1) })));
      const counts = async () => {
        const { items } = await feedPage(pool, { userId: 'reader', limit: 10 });
        const found = (await findPost(pool, 'a1'))?.post;
        expect(items.map(({ likes, comments, shares }) => ({ likes, comments, shares }))).toEqual([{ likes: found?.likes, comments: found?.comments, shares: found?.shares }]);
        return found;
      };
      expect(await counts()).toEqual({ postId: 'a1', authorId: 'alice', text: 'counted', likes: 0, comments: 0, shares: 0, createdAt: at(1) });

      await apply(post(postLiked('bob', 'a1')), post(postLiked('carol', 'a1')), post(postCommented('c1', { postId: 'a1', commentedAt: at(2) })));
      expect(await counts()).toMatchObject({ likes: 2, comments: 1, shares: 0 });

      await apply(post(postUnliked('bob', 'a1')), post(postShared('dan', { postId: 'a1', sharedAt: at(3) })), post(postCommented('c2', { postId: 'a1', commentedAt: at(3) })));
      expect(await counts()).toMatchObject({ likes: 1, comments: 2, shares: 1 });

      // Liked, unliked and liked again in one batch counts once.
      await apply(post(postLiked('erin', 'a1')), post(postUnliked('erin', 'a1')), post(postLiked('erin', 'a1')));
      expect(await counts()).toMatchObject({ likes: 2 });
    });

    it('keeps each post at the version of the last event of its stream it applied, also for events that change no count', async () => {
      const post = stream(postStreamId('v1'));
      const versionOf = async () => (await findPost(pool, 'v1'))?.version;
      // Published and liked in one batch.
      await apply(post(postPublished({ postId: 'v1', authorId: 'alice', publishedAt: at(1) })), post(postLiked('bob', 'v1')));
      expect(await versionOf()).toBe(1);

      // Liked and taken back in one batch: no count changes, the version moves twice.
      await apply(post(postLiked('carol', 'v1')), post(postUnliked('carol', 'v1')));
      expect(await findPost(pool, 'v1')).toEqual({ post: expect.objectContaining({ likes: 1 }), version: 3 });

      const commented = post(postCommented('c1', { postId: 'v1', commentedAt: at(2) }));
      await apply(commented);
      await apply(post(postShared('dan', { postId: 'v1', sharedAt: at(3) })));
      expect(await versionOf()).toBe(5);
      await apply(post(postUnliked('bob', 'v1')));
      expect(await versionOf()).toBe(6);

      // An older event applied again never takes the version back.
      await apply(commented);
      expect(await versionOf()).toBe(6);
    });

    it('finds posts, an author\'s posts and a post\'s comments in pages', async () => {
      expect(await findPost(pool, 'missing')).toBeUndefined();
      await apply(...[1, 2, 3, 4, 5].map((minute) => stream(postStreamId(`a${minute}`))(postPublished({ postId: `a${minute}`, authorId: 'alice', publishedAt: at(minute) }))));
      await apply(stream(postStreamId('b1'))(postPublished({ postId: 'b1', authorId: 'bob', publishedAt: at(9) })));

      const first = await userPosts(pool, { authorId: 'alice', limit: 2 });
      const second = await userPosts(pool, { authorId: 'alice', limit: 2, before: first.next });
      const third = await userPosts(pool, { authorId: 'alice', limit: 2, before: second.next });
      expect([first, second, third].map((page) => page.items.map((post) => post.postId))).toEqual([['a5', 'a4'], ['a3', 'a2'], ['a1']]);
      expect(third.next).toBeUndefined();

      const post = stream(postStreamId('a1'));
      await apply(...['c3', 'c1', 'c2'].map((commentId, i) => post(postCommented(commentId, { postId: 'a1', authorId: `user-${i}`, commentedAt: at(i % 2) }))));
      const page1 = await postComments(pool, { postId: 'a1', limit: 2 });
      const page2 = await postComments(pool, { postId: 'a1', limit: 2, after: page1.next });
      expect([...page1.items, ...page2.items].map((comment) => comment.commentId)).toEqual(['c2', 'c3', 'c1']);
      expect(page1.items[0]).toEqual({ commentId: 'c2', postId: 'a1', authorId: 'user-2', text: 'Nice', createdAt: at(0) });
      expect(page2.next).toBeUndefined();
    });

    it('lists followers and followings by user id in pages', async () => {
      await apply(...['dan', 'bob', 'carol', 'erin'].map((follower) => stream(userStreamId(follower))(userFollowed(follower, 'alice'))));
      const first = await followers(pool, { userId: 'alice', limit: 3 });
      const second = await followers(pool, { userId: 'alice', limit: 3, after: first.next });
      expect([first.items.map((item) => item.userId), first.next, second.items.map((item) => item.userId), second.next]).toEqual([['bob', 'carol', 'dan'], 'dan', ['erin'], undefined]);
      expect(await following(pool, { userId: 'bob', limit: 3 })).toEqual({ items: [{ userId: 'alice', followedAt: '2026-01-01T00:00:00.000Z' }] });
    });
  });
});
