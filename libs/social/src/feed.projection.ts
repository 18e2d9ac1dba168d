import type { PoolClient } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier, type AfterCommit, type Projection, type ProjectionTables } from '@tidings/read-models';
import type { FollowEvent } from './follows';
import type { PostEvent } from './posts';

/** A post or share fanned out into a follower's feed (`sharedBy` for a share; `createdAt` is then when it was shared). */
export type FeedItemAdded = Readonly<{ userId: string; postId: string; authorId: string; text: string; createdAt: string; sharedBy?: string }>;

export type FeedProjectionOptions = Readonly<{
  /** Authors (and sharers) with at least this many followers are not fanned out on write (TIDINGS_CELEBRITY_FOLLOWERS). */
  celebrityFollowers: number;
  /**
   * Told, once a batch has committed, of the items it fanned out (live updates), and of those a
   * follow's backfill brings that are newer than the follow (a post whose partition was applied
   * before the follow's). The rest of a backfill, and posts pulled at read time, are not told:
   * they are not new in anyone's feed.
   */
  onFeedItems?: (items: readonly FeedItemAdded[]) => void;
}>;

/**
 * How far back a follow reaches: a follower's feed holds the followee's posts and shares from
 * this many days before the follow on. The rule reads only the events' own times, so the feed
 * is the same in whatever order partitions (or a rebuild's pages) apply follows and posts.
 */
export const FOLLOW_REACH_DAYS = 7;

/**
 * The reach as SQL: `time` (a post's or a share's) is FOLLOW_REACH_DAYS (the parameter `days`)
 * before `followedAt` or later. The follow's backfill, the fan-out and the readers' pull all
 * keep what it keeps, so the feed does not depend on which of them meets a post.
 */
export const withinReach = (time: string, followedAt: string, days: string): string => `${time} >= ${followedAt} - make_interval(days => ${days})`;

// Advisory lock class of the feed; the object id is the hash of the author's, sharer's or followee's id.
const FEED_LOCK_CLASS = 1952804360;

const FOLLOW_EVENTS = new Set<string>(['UserFollowed', 'UserUnfollowed'] satisfies FollowEvent['type'][]);
const POST_EVENTS = new Set<string>(['PostPublished', 'PostLiked', 'PostUnliked', 'PostCommented', 'PostShared'] satisfies PostEvent['type'][]);

const isFollowEvent = (event: RecordedEvent): event is RecordedEvent<FollowEvent> => FOLLOW_EVENTS.has(event.type);
const isPostEvent = (event: RecordedEvent): event is RecordedEvent<PostEvent> => POST_EVENTS.has(event.type);

/**
 * The newsfeed (ARCHITECTURE §6), fanned out on write for ordinary authors and pulled at read
 * time for celebrities. Whether a post or a share was fanned out is decided once, when it is
 * applied, from the author's follower count, and kept on its row (`fanned_out`): readers pull
 * exactly the rows that were not. So a user's feed is always "every post and share of the users
 * they follow, from FOLLOW_REACH_DAYS before each follow on", whatever the counts did since and
 * in whatever order partitions applied the `user-*` and `post-*` streams:
 * - a post or share applied after a follow is fanned out to that follower (it reads `follows`);
 * - one applied before it is brought in by the follow's backfill (it reads `posts` and `shares`);
 * - an unfollow removes the followee's posts and shares from the follower's feed.
 * The fan-out and the backfill of one author must not run concurrently on two partitions (each
 * would miss the other's uncommitted row), so both lock the author first: a follow exclusively,
 * a post or share shared, so that one author's posts on two partitions fan out side by side.
 * Older posts and shares stay out of the follower's feed whichever of the follow's backfill, the
 * post's fan-out or a reader's pull meets them: all three compare the post's time with the follow's.
 */
export const feedProjection = ({ celebrityFollowers, onFeedItems }: FeedProjectionOptions): Projection => ({
  name: 'feed',
  categories: ['user', 'post'],
  // Ids are compared byte-wise ("C"): keyset cursors must sort the same way in every database.
  tables: {
    follows: (table) => `
      CREATE TABLE ${table} (
        follower_id text COLLATE "C" NOT NULL,
        followee_id text COLLATE "C" NOT NULL,
        followed_at timestamptz      NOT NULL,
        PRIMARY KEY (follower_id, followee_id)
      );
      CREATE INDEX ON ${table} (followee_id, follower_id)`,
    follower_counts: (table) => `
      CREATE TABLE ${table} (
        user_id   text COLLATE "C" PRIMARY KEY,
        followers int              NOT NULL
      )`,
    posts: (table) => `
      CREATE TABLE ${table} (
        post_id    text COLLATE "C" PRIMARY KEY,
        author_id  text COLLATE "C" NOT NULL,
        text       text             NOT NULL,
        created_at timestamptz      NOT NULL,
        likes      int              NOT NULL DEFAULT 0,
        comments   int              NOT NULL DEFAULT 0,
        shares     int              NOT NULL DEFAULT 0,
        fanned_out boolean          NOT NULL,
        version    int              NOT NULL DEFAULT 0,
        position   bigint           NOT NULL
      );
      CREATE INDEX ON ${table} (author_id, created_at DESC, post_id DESC);
      CREATE INDEX ON ${table} (author_id, created_at DESC, post_id DESC) WHERE NOT fanned_out`,
    post_likes: (table) => `
      CREATE TABLE ${table} (
        post_id text COLLATE "C" NOT NULL,
        user_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (post_id, user_id)
      )`,
    comments: (table) => `
      CREATE TABLE ${table} (
        comment_id text COLLATE "C" PRIMARY KEY,
        post_id    text COLLATE "C" NOT NULL,
        author_id  text COLLATE "C" NOT NULL,
        text       text             NOT NULL,
        created_at timestamptz      NOT NULL
      );
      CREATE INDEX ON ${table} (post_id, created_at, comment_id)`,
    shares: (table) => `
      CREATE TABLE ${table} (
        post_id    text COLLATE "C" NOT NULL,
        sharer_id  text COLLATE "C" NOT NULL,
        shared_at  timestamptz      NOT NULL,
        fanned_out boolean          NOT NULL,
        PRIMARY KEY (post_id, sharer_id)
      );
      CREATE INDEX ON ${table} (sharer_id, shared_at DESC, post_id DESC)`,
    feed_items: (table) => `
      CREATE TABLE ${table} (
        user_id    text COLLATE "C" NOT NULL,
        created_at timestamptz      NOT NULL,
        post_id    text COLLATE "C" NOT NULL,
        shared_by  text COLLATE "C" NOT NULL DEFAULT '',
        PRIMARY KEY (user_id, post_id, shared_by)
      );
      CREATE INDEX ON ${table} (user_id, created_at DESC, post_id DESC, shared_by DESC)`,
  },

  async apply(db, events, tables, afterCommit?: AfterCommit) {
    const follows = events.filter(isFollowEvent);
    const posts = events.filter(isPostEvent);
    await lockAuthors(db, {
      followees: follows.map((event) => event.data.followeeId),
      authors: posts.flatMap((event) => (event.type === 'PostPublished' ? [event.data.authorId] : event.type === 'PostShared' ? [event.data.sharerId] : [])),
    });
    // Follows first, then posts: one of the orders the partitions could have applied them in, and the feed is the same in all.
    // Fanned-out rows are read back only for someone to tell: a rebuild has no one.
    const added = onFeedItems && afterCommit ? ([] as FeedItemAdded[]) : undefined;
    await applyFollows(db, follows, tables, added);
    await applyPosts(db, posts, tables, celebrityFollowers, added);
    if (added?.length) afterCommit!(() => onFeedItems!(added));
  },
});

/**
 * Locks the users whose posts a batch moves, sorted so that two partitions cannot deadlock:
 * followees exclusively (a follow's backfill reads their posts and shares, an unfollow removes
 * them), authors and sharers shared (fan-outs of one author's posts do not read each other's
 * rows, so they go on side by side).
 */
async function lockAuthors(db: PoolClient, { followees, authors }: { followees: readonly string[]; authors: readonly string[] }): Promise<void> {
  if (followees.length + authors.length === 0) return;
  await db.query({
    name: 'tidings_feed_lock',
    text: `SELECT CASE WHEN exclusive THEN pg_advisory_xact_lock($1, key) ELSE pg_advisory_xact_lock_shared($1, key) END
      FROM (SELECT hashtext(id) AS key, bool_or(exclusive) AS exclusive FROM unnest($2::text[], $3::boolean[]) AS u (id, exclusive) GROUP BY 1 ORDER BY 1) AS keys`,
    values: [FEED_LOCK_CLASS, [...followees, ...authors], [...followees.map(() => true), ...authors.map(() => false)]],
  });
}

/** Where a follower stands with a followee after a batch. */
type FollowChange = { followerId: string; followeeId: string; follows: boolean; unfollowed: boolean; followedAt?: Date };

/** Applies follows and unfollows; with `added`, collects the backfilled items newer than their follow. */
async function applyFollows(db: PoolClient, events: readonly RecordedEvent<FollowEvent>[], tables: ProjectionTables, added?: FeedItemAdded[]): Promise<void> {
  if (events.length === 0) return;
  const t = quotedTables(tables);
  const changes = new Map<string, FollowChange>();
  for (const event of events) {
    const { followerId, followeeId } = event.data;
    const key = JSON.stringify([followerId, followeeId]);
    const before = changes.get(key);
    const follows = event.type === 'UserFollowed';
    changes.set(key, {
      followerId,
      followeeId,
      follows,
      unfollowed: (before?.unfollowed ?? false) || !follows,
      followedAt: follows ? event.recordedAt : before?.followedAt,
    });
  }
  // A pair unfollowed in the batch loses its items even when followed again after: the refollow's backfill brings back what it would have.
  const removed = [...changes.values()].filter((change) => change.unfollowed);
  const followed = [...changes.values()].filter((change) => change.follows);
  const delta = new Map<string, number>();
  const count = (userId: string, by: number) => delta.set(userId, (delta.get(userId) ?? 0) + by);

  if (removed.length) {
    const pairs = [removed.map((change) => change.followerId), removed.map((change) => change.followeeId)];
    const { rows } = await db.query<{ followee_id: string }>({
      name: `tidings_feed_unfollow_${tables.follows}`,
      text: `DELETE FROM ${t.follows} f USING unnest($1::text[], $2::text[]) AS r (follower_id, followee_id)
        WHERE f.follower_id = r.follower_id AND f.followee_id = r.followee_id RETURNING f.followee_id`,
      values: pairs,
    });
    for (const row of rows) count(row.followee_id, -1);
    await db.query({
      name: `tidings_feed_unfollow_items_${tables.feed_items}`,
      text: `DELETE FROM ${t.feed_items} i USING unnest($1::text[], $2::text[]) AS r (follower_id, followee_id)
        WHERE i.user_id = r.follower_id
          AND (i.shared_by = r.followee_id
            OR (i.shared_by = '' AND EXISTS (SELECT FROM ${t.posts} p WHERE p.post_id = i.post_id AND p.author_id = r.followee_id)))`,
      values: pairs,
    });
  }

  if (followed.length) {
    const pairs = [followed.map((change) => change.followerId), followed.map((change) => change.followeeId)];
    const followedAt = followed.map((change) => change.followedAt!.toISOString());
    const { rows } = await db.query<{ followee_id: string }>({
      name: `tidings_feed_follow_${tables.follows}`,
      text: `INSERT INTO ${t.follows} (follower_id, followee_id, followed_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING RETURNING followee_id`,
      values: [...pairs, followedAt],
    });
    for (const row of rows) count(row.followee_id, 1);
    const backfill = `INSERT INTO ${t.feed_items} (user_id, created_at, post_id, shared_by)
        SELECT r.follower_id, b.created_at, b.post_id, b.shared_by
        FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS r (follower_id, followee_id, followed_at)
        CROSS JOIN LATERAL (
          (SELECT created_at, post_id, ''::text AS shared_by FROM ${t.posts}
            WHERE author_id = r.followee_id AND fanned_out AND ${withinReach('created_at', 'r.followed_at', '$4')})
          UNION ALL
          (SELECT shared_at, post_id, sharer_id FROM ${t.shares}
            WHERE sharer_id = r.followee_id AND fanned_out AND ${withinReach('shared_at', 'r.followed_at', '$4')})
        ) AS b
        ON CONFLICT DO NOTHING`;
    if (!added) {
      await db.query({ name: `tidings_feed_backfill_${tables.feed_items}`, text: backfill, values: [...pairs, followedAt, FOLLOW_REACH_DAYS] });
    } else {
      // What the follow brings that is newer than it: posts and shares whose partition was applied before the follow's.
      const { rows: newer } = await db.query<{ user_id: string; created_at: Date; post_id: string; shared_by: string; author_id: string; text: string }>({
        name: `tidings_feed_backfill_${tables.feed_items}_told`,
        text: `WITH backfilled AS (${backfill} RETURNING user_id, created_at, post_id, shared_by)
          SELECT b.user_id, b.created_at, b.post_id, b.shared_by, p.author_id, p.text
          FROM backfilled b JOIN ${t.posts} p ON p.post_id = b.post_id
          JOIN unnest($1::text[], $2::text[], $3::timestamptz[]) AS f (follower_id, followee_id, followed_at)
            ON f.follower_id = b.user_id AND f.followee_id = CASE WHEN b.shared_by = '' THEN p.author_id ELSE b.shared_by END
          WHERE b.created_at >= f.followed_at`,
        values: [...pairs, followedAt, FOLLOW_REACH_DAYS],
      });
      for (const row of newer) {
        added.push({ userId: row.user_id, postId: row.post_id, authorId: row.author_id, text: row.text, createdAt: row.created_at.toISOString(), ...(row.shared_by ? { sharedBy: row.shared_by } : {}) });
      }
    }
  }

  const counted = [...delta].filter(([, by]) => by !== 0).sort(([a], [b]) => (a < b ? -1 : 1));
  if (counted.length) {
    await db.query({
      name: `tidings_feed_count_${tables.follower_counts}`,
      text: `INSERT INTO ${t.follower_counts} AS c (user_id, followers) SELECT * FROM unnest($1::text[], $2::int[])
        ON CONFLICT (user_id) DO UPDATE SET followers = c.followers + excluded.followers`,
      values: [counted.map(([userId]) => userId), counted.map(([, by]) => by)],
    });
  }
}

type Counts = { likes: number; comments: number; shares: number };

/** Applies posts, likes, comments and shares; with `added`, collects the feed items fanned out. */
async function applyPosts(
  db: PoolClient,
  events: readonly RecordedEvent<PostEvent>[],
  tables: ProjectionTables,
  celebrityFollowers: number,
  added?: FeedItemAdded[],
): Promise<void> {
  if (events.length === 0) return;
  const t = quotedTables(tables);
  const published: RecordedEvent<Extract<PostEvent, { type: 'PostPublished' }>>[] = [];
  /** Whether each (post, user) likes the post after the batch. */
  const likes = new Map<string, { postId: string; userId: string; liked: boolean }>();
  const comments: Extract<PostEvent, { type: 'PostCommented' }>['data'][] = [];
  const shares: Extract<PostEvent, { type: 'PostShared' }>['data'][] = [];
  /** Each post's stream version after the batch's likes, comments and shares (publishing sets it on insert). */
  const versions = new Map<string, number>();
  for (const event of events) {
    if (event.type !== 'PostPublished') versions.set(event.data.postId, Math.max(versions.get(event.data.postId) ?? -1, event.streamVersion));
    switch (event.type) {
      case 'PostPublished':
        published.push(event);
        break;
      case 'PostLiked':
      case 'PostUnliked': {
        const { postId, userId } = event.data;
        likes.set(JSON.stringify([postId, userId]), { postId, userId, liked: event.type === 'PostLiked' });
        break;
      }
      case 'PostCommented':
        comments.push(event.data);
        break;
      case 'PostShared':
        shares.push(event.data);
        break;
      default: {
        const unhandled: never = event;
        return unhandled;
      }
    }
  }

  if (published.length) {
    // The author's count decides, once, whether the post is fanned out or pulled by readers.
    const fanOut = `INSERT INTO ${t.feed_items} (user_id, created_at, post_id, shared_by)
        SELECT f.follower_id, p.created_at, p.post_id, '' FROM published p JOIN ${t.follows} f ON f.followee_id = p.author_id
        WHERE p.fanned_out AND ${withinReach('p.created_at', 'f.followed_at', '$8')}
        ON CONFLICT DO NOTHING`;
    // Told, the followers come back as one array per post: far fewer rows to send than one per follower.
    const { rows } = await db.query<{ post_id: string; user_ids: string[] }>({
      name: `tidings_feed_publish_${tables.posts}${added ? '_told' : ''}`,
      text: `WITH published AS (
          INSERT INTO ${t.posts} (post_id, author_id, text, created_at, fanned_out, version, position)
          SELECT p.post_id, p.author_id, p.text, p.created_at, coalesce(c.followers, 0) < $6, p.version, p.position
          FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $7::int[]) AS p (post_id, author_id, text, created_at, position, version)
          LEFT JOIN ${t.follower_counts} c ON c.user_id = p.author_id
          ON CONFLICT DO NOTHING
          RETURNING post_id, author_id, created_at, fanned_out)
        ${added ? `, fanned AS (${fanOut} RETURNING user_id, post_id) SELECT post_id, array_agg(user_id) AS user_ids FROM fanned GROUP BY post_id` : fanOut}`,
      values: [
        published.map((event) => event.data.postId),
        published.map((event) => event.data.authorId),
        published.map((event) => event.data.text),
        published.map((event) => event.data.publishedAt),
        published.map((event) => event.position.toString()),
        celebrityFollowers,
        published.map((event) => event.streamVersion),
        FOLLOW_REACH_DAYS,
      ],
    });
    if (added) {
      const posts = new Map(published.map(({ data }) => [data.postId, data]));
      for (const row of rows) {
        const { postId, authorId, text, publishedAt } = posts.get(row.post_id)!;
        for (const userId of row.user_ids) added.push({ userId, postId, authorId, text, createdAt: publishedAt });
      }
    }
  }

  const counts = new Map<string, Counts>();
  const count = (postId: string, change: Partial<Counts>) => {
    const before = counts.get(postId) ?? { likes: 0, comments: 0, shares: 0 };
    counts.set(postId, { likes: before.likes + (change.likes ?? 0), comments: before.comments + (change.comments ?? 0), shares: before.shares + (change.shares ?? 0) });
  };

  const liked = [...likes.values()].filter((like) => like.liked);
  if (liked.length) {
    const { rows } = await db.query<{ post_id: string }>({
      name: `tidings_feed_like_${tables.post_likes}`,
      text: `INSERT INTO ${t.post_likes} (post_id, user_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING RETURNING post_id`,
      values: [liked.map((like) => like.postId), liked.map((like) => like.userId)],
    });
    for (const row of rows) count(row.post_id, { likes: 1 });
  }
  const unliked = [...likes.values()].filter((like) => !like.liked);
  if (unliked.length) {
    const { rows } = await db.query<{ post_id: string }>({
      name: `tidings_feed_unlike_${tables.post_likes}`,
      text: `DELETE FROM ${t.post_likes} l USING unnest($1::text[], $2::text[]) AS r (post_id, user_id)
        WHERE l.post_id = r.post_id AND l.user_id = r.user_id RETURNING l.post_id`,
      values: [unliked.map((like) => like.postId), unliked.map((like) => like.userId)],
    });
    for (const row of rows) count(row.post_id, { likes: -1 });
  }

  if (comments.length) {
    const { rows } = await db.query<{ post_id: string }>({
      name: `tidings_feed_comment_${tables.comments}`,
      text: `INSERT INTO ${t.comments} (comment_id, post_id, author_id, text, created_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) ON CONFLICT DO NOTHING RETURNING post_id`,
      values: [
        comments.map((comment) => comment.commentId),
        comments.map((comment) => comment.postId),
        comments.map((comment) => comment.authorId),
        comments.map((comment) => comment.text),
        comments.map((comment) => comment.commentedAt),
      ],
    });
    for (const row of rows) count(row.post_id, { comments: 1 });
  }

  if (shares.length) {
    // As for posts: the sharer's count decides whether the share is fanned out to the sharer's followers or pulled.
    // Each share is one row without a user; with `added`, each item it fanned out follows as a row with one.
    const { rows } = await db.query<{ post_id: string; user_id: string | null; shared_by: string; created_at: Date; author_id: string; text: string }>({
      name: `tidings_feed_share_${tables.shares}${added ? '_told' : ''}`,
      text: `WITH shared AS (
          INSERT INTO ${t.shares} (post_id, sharer_id, shared_at, fanned_out)
          SELECT s.post_id, s.sharer_id, s.shared_at, coalesce(c.followers, 0) < $4
          FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS s (post_id, sharer_id, shared_at)
          LEFT JOIN ${t.follower_counts} c ON c.user_id = s.sharer_id
          ON CONFLICT DO NOTHING
          RETURNING post_id, sharer_id, shared_at, fanned_out),
        fanned AS (
          INSERT INTO ${t.feed_items} (user_id, created_at, post_id, shared_by)
          SELECT f.follower_id, s.shared_at, s.post_id, s.sharer_id FROM shared s JOIN ${t.follows} f ON f.followee_id = s.sharer_id
          WHERE s.fanned_out AND ${withinReach('s.shared_at', 'f.followed_at', '$5')}
          ON CONFLICT DO NOTHING${added ? ' RETURNING user_id, post_id, shared_by, created_at' : ''})
        ${
          added
            ? `SELECT post_id, NULL::text AS user_id, NULL::text AS shared_by, NULL::timestamptz AS created_at, NULL::text AS author_id, NULL::text AS text FROM shared
        UNION ALL
        SELECT f.post_id, f.user_id, f.shared_by, f.created_at, p.author_id, p.text FROM fanned f JOIN ${t.posts} p USING (post_id)`
            : 'SELECT post_id, NULL AS user_id FROM shared'
        }`,
      values: [shares.map((share) => share.postId), shares.map((share) => share.sharerId), shares.map((share) => share.sharedAt), celebrityFollowers, FOLLOW_REACH_DAYS],
    });
    for (const row of rows) {
      if (row.user_id === null) count(row.post_id, { shares: 1 });
      else added?.push({ userId: row.user_id, postId: row.post_id, authorId: row.author_id, text: row.text, createdAt: row.created_at.toISOString(), sharedBy: row.shared_by });
    }
  }

  // Every event on a post's stream moves its version (the post's ETag), also one that changes no count.
  if (versions.size) {
    const changed = [...versions].map(([postId, version]) => ({ postId, version, ...(counts.get(postId) ?? { likes: 0, comments: 0, shares: 0 }) }));
    await db.query({
      name: `tidings_feed_counts_${tables.posts}`,
      text: `UPDATE ${t.posts} p SET likes = p.likes + d.likes, comments = p.comments + d.comments, shares = p.shares + d.shares, version = greatest(p.version, d.version)
        FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[]) AS d (post_id, likes, comments, shares, version) WHERE p.post_id = d.post_id`,
      values: [changed.map((c) => c.postId), changed.map((c) => c.likes), changed.map((c) => c.comments), changed.map((c) => c.shares), changed.map((c) => c.version)],
    });
  }
}

const quotedTables = (tables: ProjectionTables): Record<string, string> => Object.fromEntries(Object.entries(tables).map(([view, table]) => [view, quoteIdentifier(table)]));
