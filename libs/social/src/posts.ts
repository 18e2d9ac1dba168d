import type { Message } from '@tidings/core';

/** One stream per post, `post-<postId>`: the post and everything done to it. */
export const postStreamId = (postId: string): string => `post-${postId}`;

/** Longest post or comment, in characters (code points). */
export const MAX_TEXT_LENGTH = 5000;

export type PostPublished = Message<'PostPublished', { postId: string; authorId: string; text: string; publishedAt: string }>;
export type PostLiked = Message<'PostLiked', { postId: string; userId: string }>;
export type PostUnliked = Message<'PostUnliked', { postId: string; userId: string }>;
export type PostCommented = Message<'PostCommented', { postId: string; commentId: string; authorId: string; text: string; commentedAt: string }>;
export type PostShared = Message<'PostShared', { postId: string; sharerId: string; sharedAt: string }>;

export type PostEvent = PostPublished | PostLiked | PostUnliked | PostCommented | PostShared;

export type Post =
  | Readonly<{ status: 'none' }>
  | Readonly<{
      status: 'published';
      postId: string;
      authorId: string;
      likedBy: ReadonlySet<string>;
      sharedBy: ReadonlySet<string>;
      /** Kept so that a comment id is recorded once, as the comments view keys them. */
      commentIds: ReadonlySet<string>;
    }>;

export type PublishedPost = Exclude<Post, { status: 'none' }>;

export const initialPost = (): Post => ({ status: 'none' });

export function evolvePost(post: Post, event: PostEvent): Post {
  if (event.type === 'PostPublished') {
    const { postId, authorId } = event.data;
    return { status: 'published', postId, authorId, likedBy: new Set(), sharedBy: new Set(), commentIds: new Set() };
  }
  if (post.status === 'none') return post;
  switch (event.type) {
    case 'PostLiked':
      return { ...post, likedBy: new Set(post.likedBy).add(event.data.userId) };
    case 'PostUnliked': {
      const likedBy = new Set(post.likedBy);
      likedBy.delete(event.data.userId);
      return { ...post, likedBy };
    }
    case 'PostCommented':
      return { ...post, commentIds: new Set(post.commentIds).add(event.data.commentId) };
    case 'PostShared':
      return { ...post, sharedBy: new Set(post.sharedBy).add(event.data.sharerId) };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/**
 * Why a post's or comment's text is refused, or undefined when it is fine. Length counts code
 * points, as a reader does: an emoji is one character, not two UTF-16 units.
 */
export function textProblem(text: string): string | undefined {
  const length = [...text].length;
  if (length === 0 || length > MAX_TEXT_LENGTH) return `text has 1 to ${MAX_TEXT_LENGTH} characters, not ${length}`;
  if (text.trim() === '') return 'text is blank';
  return undefined;
}
