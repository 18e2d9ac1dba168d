import type { Command, Decider } from '@tidings/core';
import { requirePost } from '../errors';
import { evolvePost, initialPost, type Post, type PostEvent } from '../posts';

export type UnlikePost = Command<'UnlikePost', { postId: string; userId: string }>;

export const unlikePost: Decider<Post, UnlikePost, PostEvent> = {
  initialState: initialPost,
  evolve: evolvePost,
  decide: ({ data: { postId, userId } }, state) => {
    const post = requirePost(state, postId);
    // Not liked is what the caller asked for already.
    if (!post.likedBy.has(userId)) return [];
    return [{ type: 'PostUnliked', data: { postId, userId } }];
  },
};
