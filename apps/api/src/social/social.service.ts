import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { CommandMetadata } from '@tidings/core';
import { SETTINGS } from '@tidings/platform';
import type { Projection } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import {
  commentOnPost,
  feedPage,
  feedProjection,
  findPost,
  follow,
  followers,
  following,
  likePost,
  MAX_TEXT_LENGTH,
  postComments,
  postStreamId,
  publishPost,
  sharePost,
  textProblem,
  unfollow,
  unlikePost,
  userPosts,
  userStreamId,
  type PostView,
  type VersionedPost,
} from '@tidings/social';
import type { Principal } from '../auth/tokens';
import { Commands } from '../http/command-context';
import { listPages } from '../http/pages';
import { noBody, parseInput, storableText, uuidId } from '../http/parse-input';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';

export const USER_ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a user id is 1-64 characters of [A-Za-z0-9_-]');
const POST_ID = uuidId('a post id is a UUID');
const COMMENT_ID = uuidId('a comment id is a UUID');
/** Each list's query, made once: its cursors are its own. */
const PAGES = { posts: listPages('posts'), comments: listPages('comments'), feed: listPages('feed'), followers: listPages('followers'), following: listPages('following') };
/** A cursor's time, as the read models wrote it: within the years PostgreSQL holds (an edited year 0000 is no cursor of ours). */
const TIME = z.iso.datetime().refine((time) => {
  const year = new Date(time).getUTCFullYear();
  return year >= 1 && year <= 9999;
});

// Anything within the length the social rules allow (in code points, each at most two UTF-16 units) that PostgreSQL can store.
const storable = storableText(2 * MAX_TEXT_LENGTH);
/** A post's or comment's text: 1-5000 characters, not blank (the social context's rule), storable. */
const TEXT = z.string().superRefine((text, context) => {
  const problem = textProblem(text) ?? (storable.safeParse(text).success ? undefined : 'text must not contain U+0000 or unpaired surrogates');
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

export const publishPostBody = z.strictObject({ text: TEXT });
export const commentBody = z.strictObject({ text: TEXT });
/** Follows, likes and shares carry nothing but the caller and the path. */
const readQuery = z.strictObject({ minPosition: z.string().optional() });

/**
 * Social use cases (API.md Social and newsfeed), shared by REST and GraphQL. Every one needs a
 * signed-in caller, who acts as themselves: the follower, the author, the liker. Profiles and
 * their lists are visible to every signed-in user; a feed only to its owner.
 */
@Injectable()
export class Social {
  /** The feed read model, for read-your-writes (its name and categories); the projector applies it with the same setting. */
  private readonly feed: Projection;

  constructor(
    @Inject(Commands) private readonly commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(SETTINGS) settings: Settings,
  ) {
    this.feed = feedProjection({ celebrityFollowers: settings.social.celebrityFollowers });
  }

  /** The caller follows `userId`: on the caller's own stream; following oneself is 422, following twice records nothing. */
  async follow(userId: string, body: unknown, caller: Principal, metadata: CommandMetadata) {
    parseInput(noBody, body, 'body');
    const followeeId = parseInput(USER_ID, userId, 'params');
    const result = await this.commands.run(follow, userStreamId(caller.userId), { type: 'FollowUser', data: { followerId: caller.userId, followeeId }, metadata });
    return { position: result.position };
  }

  async unfollow(userId: string, body: unknown, caller: Principal, metadata: CommandMetadata) {
    parseInput(noBody, body, 'body');
    const followeeId = parseInput(USER_ID, userId, 'params');
    const result = await this.commands.run(unfollow, userStreamId(caller.userId), { type: 'UnfollowUser', data: { followerId: caller.userId, followeeId }, metadata });
    return { position: result.position };
  }

  async followers(userId: string, query: unknown) {
    return this.followPage('followers', followers, userId, query);
  }

  async following(userId: string, query: unknown) {
    return this.followPage('following', following, userId, query);
  }

  /** The post id is the command id, so a retry under the same Idempotency-Key names the same post. */
  async publish(input: unknown, caller: Principal, metadata: CommandMetadata) {
    const { text } = parseInput(publishPostBody, input, 'body');
    const postId = metadata.commandId;
    const result = await this.commands.run(publishPost, postStreamId(postId), { type: 'PublishPost', data: { postId, authorId: caller.userId, text }, metadata });
    return { postId, version: result.version, position: result.position };
  }

  /** A post as GraphQL shows it: with its version, what a like, comment or share may expect. */
  async post(postId: string, minPosition: unknown): Promise<PostView & { version: number }> {
    const { post, version } = await this.versionedPost(postId, minPosition);
    return { ...post, version };
  }

  /** `GET /posts/:id`: only `?minPosition=` is understood; the version is the post's ETag. */
  async postQuery(postId: string, query: unknown): Promise<VersionedPost> {
    const { minPosition } = parseInput(readQuery, query, 'query');
    return this.versionedPost(postId, minPosition);
  }

  /** An author's posts, newest first. */
  async userPosts(userId: string, query: unknown) {
    const authorId = parseInput(USER_ID, userId, 'params');
    const { limit, cursor, minPosition } = parseInput(PAGES.posts.query, query, 'query');
    const before = keysetOf(z.tuple([TIME, POST_ID]), cursor);
    await this.readModels.awaitPosition(this.feed, minPosition);
    const page = await userPosts(this.readModels.pool, { authorId, limit, ...(before ? { before: { createdAt: before[0], postId: before[1] } } : {}) });
    return PAGES.posts.of(page.items, page.next && JSON.stringify([page.next.createdAt, page.next.postId]));
  }

  /**
   * A like counts once per user: liking again, or taking back a like never given, records nothing
   * (and keeps the version). Commands on a post run only while its stream is at
   * `expectedVersion` (If-Match), when given; each answers the stream's version after it.
   */
  async like(id: string, body: unknown, caller: Principal, metadata: CommandMetadata, expectedVersion?: number) {
    parseInput(noBody, body, 'body');
    const postId = parseInput(POST_ID, id, 'params');
    const result = await this.commands.run(likePost, postStreamId(postId), { type: 'LikePost', data: { postId, userId: caller.userId }, metadata }, { expectedVersion });
    return { version: result.version, position: result.position };
  }

  async unlike(id: string, body: unknown, caller: Principal, metadata: CommandMetadata, expectedVersion?: number) {
    parseInput(noBody, body, 'body');
    const postId = parseInput(POST_ID, id, 'params');
    const result = await this.commands.run(unlikePost, postStreamId(postId), { type: 'UnlikePost', data: { postId, userId: caller.userId }, metadata }, { expectedVersion });
    return { version: result.version, position: result.position };
  }

  /** The comment id is the command id, as a post's is. A comment on a missing post is 404. */
  async comment(id: string, input: unknown, caller: Principal, metadata: CommandMetadata, expectedVersion?: number) {
    const { text } = parseInput(commentBody, input, 'body');
    const postId = parseInput(POST_ID, id, 'params');
    const commentId = metadata.commandId;
    const result = await this.commands.run(commentOnPost, postStreamId(postId), { type: 'CommentOnPost', data: { postId, commentId, authorId: caller.userId, text }, metadata }, { expectedVersion });
    return { commentId, version: result.version, position: result.position };
  }

  /** A post's comments, oldest first; 404 for a post the read model does not know. */
  async comments(id: string, query: unknown) {
    const postId = parseInput(POST_ID, id, 'params');
    const { limit, cursor, minPosition } = parseInput(PAGES.comments.query, query, 'query');
    const after = keysetOf(z.tuple([TIME, COMMENT_ID]), cursor);
    await this.readModels.awaitPosition(this.feed, minPosition);
    if (!(await findPost(this.readModels.pool, postId))) throw problems.notFound(`no post ${postId}`);
    const page = await postComments(this.readModels.pool, { postId, limit, ...(after ? { after: { createdAt: after[0], commentId: after[1] } } : {}) });
    return PAGES.comments.of(page.items, page.next && JSON.stringify([page.next.createdAt, page.next.commentId]));
  }

  /** The share reaches the sharer's followers' feeds; a user shares a post once. */
  async share(id: string, body: unknown, caller: Principal, metadata: CommandMetadata, expectedVersion?: number) {
    parseInput(noBody, body, 'body');
    const postId = parseInput(POST_ID, id, 'params');
    const result = await this.commands.run(sharePost, postStreamId(postId), { type: 'SharePost', data: { postId, sharerId: caller.userId }, metadata }, { expectedVersion });
    return { postId, version: result.version, position: result.position };
  }

  /**
   * The caller's own feed, newest first; nobody reads another's. The cursor is the keyset (time,
   * post id, sharer) of the page's last item, so items arriving while a client pages never
   * shift the pages.
   */
  async feedOf(caller: Principal, query: unknown) {
    const { limit, cursor, minPosition } = parseInput(PAGES.feed.query, query, 'query');
    const before = keysetOf(z.tuple([TIME, POST_ID, z.union([USER_ID, z.literal('')])]), cursor);
    await this.readModels.awaitPosition(this.feed, minPosition);
    const page = await feedPage(this.readModels.pool, { userId: caller.userId, limit, ...(before ? { before: { createdAt: before[0], postId: before[1], sharedBy: before[2] } } : {}) });
    return PAGES.feed.of(page.items, page.next && JSON.stringify([page.next.createdAt, page.next.postId, page.next.sharedBy]));
  }

  /** A post once the feed read model shows `minPosition`; 404 for one it does not know. */
  private async versionedPost(id: string, minPosition: unknown): Promise<VersionedPost> {
    const postId = parseInput(POST_ID, id, 'params');
    await this.readModels.awaitPosition(this.feed, minPosition);
    const found = await findPost(this.readModels.pool, postId);
    if (!found) throw problems.notFound(`no post ${postId}`);
    return found;
  }

  private async followPage(name: 'followers' | 'following', list: typeof followers, userId: string, query: unknown) {
    parseInput(USER_ID, userId, 'params');
    const { limit, cursor, minPosition } = parseInput(PAGES[name].query, query, 'query');
    const after = keysetOf(USER_ID, cursor);
    await this.readModels.awaitPosition(this.feed, minPosition);
    const page = await list(this.readModels.pool, { userId, limit, ...(after ? { after } : {}) });
    return PAGES[name].of(page.items, page.next && JSON.stringify(page.next));
  }
}

/** The keyset a cursor holds (JSON inside the opaque base64url a list's query decodes); 400 for one this API did not issue. */
function keysetOf<Schema extends z.ZodType>(schema: Schema, cursor: string | undefined): z.output<Schema> | undefined {
  if (cursor === undefined) return undefined;
  let keyset: unknown;
  try {
    keyset = JSON.parse(cursor);
  } catch {
    keyset = undefined;
  }
  const parsed = schema.safeParse(keyset);
  if (!parsed.success) throw problems.invalid("the request's query is not valid", [{ path: 'query.cursor', message: 'not a cursor this API returned' }]);
  return parsed.data;
}
