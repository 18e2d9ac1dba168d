import type { Pool } from 'pg';
import { FOLLOW_REACH_DAYS, withinReach } from './feed.projection';

/** A post as `GET /posts/:id` answers it (API.md); counts are read fresh, never copied. */
export type PostView = Readonly<{
  postId: string;
  authorId: string;
  text: string;
  likes: number;
  comments: number;
  shares: number;
  /** ISO 8601: when the post was published. */
  createdAt: string;
}>;

/** A post and the version of its stream `post-<postId>` the read model has applied: `GET /posts/:id` answers it as its ETag, not in the body. */
export type VersionedPost = Readonly<{ post: PostView; version: number }>;

/** A post in a feed; `sharedBy` when it is there because a followed user shared it, and then `createdAt` is when it was shared. */
export type FeedItem = PostView & Readonly<{ sharedBy?: string }>;

/** Where a feed page ends; the next page starts after it. `sharedBy` is '' for a post that is not a share. */
export type FeedCursor = Readonly<{ createdAt: string; postId: string; sharedBy: string }>;

export type PostCursor = Readonly<{ createdAt: string; postId: string }>;

export type CommentView = Readonly<{ commentId: string; postId: string; authorId: string; text: string; createdAt: string }>;

export type CommentCursor = Readonly<{ createdAt: string; commentId: string }>;

export type FollowView = Readonly<{ userId: string; followedAt: string }>;

/** A page and, when more follow, the cursor to ask for the next one with. */
export type Page<Item, Cursor> = Readonly<{ items: Item[]; next?: Cursor }>;

type PostRecord = { post_id: string; author_id: string; text: string; likes: number; comments: number; shares: number; created_at: Date };
type FeedRecord = PostRecord & { shared_by: string };

// Sorts after every real item: the first page needs no query of its own.
const NEWEST: FeedCursor = { createdAt: 'infinity', postId: '', sharedBy: '' };

/**
 * A user's feed, newest first, in keyset pages by (created time, post id, sharer): an item
 * inserted while a reader pages is never shown twice nor makes another one skipped; it shows up
 * on a later page only if it is older than the cursor. The feed holds the posts and shares of
 * the users the reader follows: the reader's `feed_items` (fanned out on write) merged with the
 * posts and shares that were not fanned out (their author had celebrity followers), pulled from
 * each followed user, from FOLLOW_REACH_DAYS before the follow on, as fan-out and backfill do. A
 * user never follows themselves, so their own posts are not in their feed.
 */
export async function feedPage(pool: Pool, { userId, limit, before = NEWEST }: { userId: string; limit: number; before?: FeedCursor }): Promise<Page<FeedItem, FeedCursor>> {
  const { rows } = await pool.query<FeedRecord>({
    name: 'tidings_feed_page',
    // Each branch yields at most a page, so the merged page is exact; UNION drops a row seen twice. The page is cut
    // before the posts are joined: the planner then looks up its rows by key instead of hashing every post.
    text: `
      WITH page AS (
        (SELECT created_at, post_id, shared_by FROM feed_items
          WHERE user_id = $1 AND (created_at, post_id, shared_by) < ($2::timestamptz, $3, $4)
          ORDER BY created_at DESC, post_id DESC, shared_by DESC LIMIT $5)
        UNION
        (SELECT p.created_at, p.post_id, ''::text FROM follows f
          CROSS JOIN LATERAL (
            SELECT created_at, post_id FROM posts
            WHERE author_id = f.followee_id AND NOT fanned_out AND (created_at, post_id, ''::text) < ($2::timestamptz, $3, $4)
              AND ${withinReach('created_at', 'f.followed_at', '$6')}
            ORDER BY created_at DESC, post_id DESC LIMIT $5) p
          WHERE f.follower_id = $1)
        UNION
        (SELECT s.shared_at, s.post_id, s.sharer_id FROM follows f
          CROSS JOIN LATERAL (
            SELECT shared_at, post_id, sharer_id FROM shares
            WHERE sharer_id = f.followee_id AND NOT fanned_out AND (shared_at, post_id, sharer_id) < ($2::timestamptz, $3, $4)
              AND ${withinReach('shared_at', 'f.followed_at', '$6')}
            ORDER BY shared_at DESC, post_id DESC LIMIT $5) s
          WHERE f.follower_id = $1)
        ORDER BY 1 DESC, 2 DESC, 3 DESC
        LIMIT $5
      )
      SELECT page.created_at, page.post_id, page.shared_by, p.author_id, p.text, p.likes, p.comments, p.shares
      FROM page JOIN posts p USING (post_id)
      ORDER BY page.created_at DESC, page.post_id DESC, page.shared_by DESC`,
    values: [userId, before.createdAt, before.postId, before.sharedBy, limit + 1, FOLLOW_REACH_DAYS],
  });
  const items = rows.slice(0, limit).map((row): FeedItem => ({ ...postView(row), ...(row.shared_by ? { sharedBy: row.shared_by } : {}) }));
  if (rows.length <= limit) return { items };
  const last = rows[limit - 1];
  return { items, next: { createdAt: last.created_at.toISOString(), postId: last.post_id, sharedBy: last.shared_by } };
}

const POST_COLUMNS = 'post_id, author_id, text, likes, comments, shares, created_at';
const SELECT_POSTS = `SELECT ${POST_COLUMNS} FROM posts`;

export async function findPost(pool: Pool, postId: string): Promise<VersionedPost | undefined> {
  const { rows } = await pool.query<PostRecord & { version: number }>({ name: 'tidings_find_post', text: `SELECT ${POST_COLUMNS}, version FROM posts WHERE post_id = $1`, values: [postId] });
  return rows[0] && { post: postView(rows[0]), version: rows[0].version };
}

/** An author's posts, newest first, in keyset pages. */
export async function userPosts(pool: Pool, { authorId, limit, before }: { authorId: string; limit: number; before?: PostCursor }): Promise<Page<PostView, PostCursor>> {
  const { rows } = await pool.query<PostRecord>({
    name: 'tidings_user_posts',
    text: `${SELECT_POSTS} WHERE author_id = $1 AND (created_at, post_id) < ($2::timestamptz, $3) ORDER BY created_at DESC, post_id DESC LIMIT $4`,
    values: [authorId, before?.createdAt ?? 'infinity', before?.postId ?? '', limit + 1],
  });
  const items = rows.slice(0, limit).map(postView);
  if (rows.length <= limit) return { items };
  const last = items[limit - 1];
  return { items, next: { createdAt: last.createdAt, postId: last.postId } };
}

/** A post's comments, oldest first, in keyset pages. */
export async function postComments(pool: Pool, { postId, limit, after }: { postId: string; limit: number; after?: CommentCursor }): Promise<Page<CommentView, CommentCursor>> {
  const { rows } = await pool.query<{ comment_id: string; post_id: string; author_id: string; text: string; created_at: Date }>({
    name: 'tidings_post_comments',
    text: `SELECT comment_id, post_id, author_id, text, created_at FROM comments
      WHERE post_id = $1 AND (created_at, comment_id) > ($2::timestamptz, $3) ORDER BY created_at, comment_id LIMIT $4`,
    values: [postId, after?.createdAt ?? '-infinity', after?.commentId ?? '', limit + 1],
  });
  const items = rows
    .slice(0, limit)
    .map((row): CommentView => ({ commentId: row.comment_id, postId: row.post_id, authorId: row.author_id, text: row.text, createdAt: row.created_at.toISOString() }));
  if (rows.length <= limit) return { items };
  const last = items[limit - 1];
  return { items, next: { createdAt: last.createdAt, commentId: last.commentId } };
}

/** Who follows the user, by user id, in keyset pages after the user id `after`. */
export const followers = (pool: Pool, { userId, limit, after }: { userId: string; limit: number; after?: string }): Promise<Page<FollowView, string>> =>
  followPage(pool, 'tidings_followers', 'follower_id', 'followee_id', userId, limit, after);

/** Whom the user follows, by user id, in keyset pages after the user id `after`. */
export const following = (pool: Pool, { userId, limit, after }: { userId: string; limit: number; after?: string }): Promise<Page<FollowView, string>> =>
  followPage(pool, 'tidings_following', 'followee_id', 'follower_id', userId, limit, after);

export async function followerCount(pool: Pool, userId: string): Promise<number> {
  const { rows } = await pool.query<{ followers: number }>({ name: 'tidings_follower_count', text: 'SELECT followers FROM follower_counts WHERE user_id = $1', values: [userId] });
  return rows[0]?.followers ?? 0;
}

async function followPage(
  pool: Pool,
  name: string,
  listed: 'follower_id' | 'followee_id',
  of: 'follower_id' | 'followee_id',
  userId: string,
  limit: number,
  after = '',
): Promise<Page<FollowView, string>> {
  const { rows } = await pool.query<{ user_id: string; followed_at: Date }>({
    name,
    text: `SELECT ${listed} AS user_id, followed_at FROM follows WHERE ${of} = $1 AND ${listed} > $2 ORDER BY ${listed} LIMIT $3`,
    values: [userId, after, limit + 1],
  });
  const items = rows.slice(0, limit).map((row): FollowView => ({ userId: row.user_id, followedAt: row.followed_at.toISOString() }));
  return rows.length > limit ? { items, next: items[limit - 1].userId } : { items };
}

const postView = (row: PostRecord): PostView => ({
  postId: row.post_id,
  authorId: row.author_id,
  text: row.text,
  likes: row.likes,
  comments: row.comments,
  shares: row.shares,
  createdAt: row.created_at.toISOString(),
});
