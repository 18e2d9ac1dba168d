import type { UserFollowed, UserUnfollowed } from './follows';
import type { PostCommented, PostLiked, PostPublished, PostShared, PostUnliked } from './posts';

export const POST_ID = '0190a000-0000-7000-8000-0000000000bb';
export const AUTHOR_ID = 'alice';

/** Histories for the specs of this and other contexts. */
export const userFollowed = (followerId: string, followeeId: string): UserFollowed => ({ type: 'UserFollowed', data: { followerId, followeeId } });
export const userUnfollowed = (followerId: string, followeeId: string): UserUnfollowed => ({ type: 'UserUnfollowed', data: { followerId, followeeId } });
export const postPublished = (overrides: Partial<PostPublished['data']> = {}): PostPublished => ({
  type: 'PostPublished',
  data: { postId: POST_ID, authorId: AUTHOR_ID, text: 'Hello, world', publishedAt: '2026-01-01T00:00:00.000Z', ...overrides },
});
export const postLiked = (userId: string, postId = POST_ID): PostLiked => ({ type: 'PostLiked', data: { postId, userId } });
export const postUnliked = (userId: string, postId = POST_ID): PostUnliked => ({ type: 'PostUnliked', data: { postId, userId } });
export const postCommented = (commentId: string, overrides: Partial<PostCommented['data']> = {}): PostCommented => ({
  type: 'PostCommented',
  data: { postId: POST_ID, commentId, authorId: 'bob', text: 'Nice', commentedAt: '2026-01-01T00:00:00.000Z', ...overrides },
});
export const postShared = (sharerId: string, overrides: Partial<PostShared['data']> = {}): PostShared => ({
  type: 'PostShared',
  data: { postId: POST_ID, sharerId, sharedAt: '2026-01-01T00:00:00.000Z', ...overrides },
});
