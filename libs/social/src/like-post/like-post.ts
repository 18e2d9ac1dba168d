import type { Command, Decider } from '@tidings/core';
import { requirePost } from '../errors';
import { evolvePost, initialPost, type Post, type PostEvent } from '../posts';

export type LikePost = Command<'LikePost', { postId: string; userId: string }>;

export const likePost: Decider<Post, LikePost, PostEvent> = {
  initialState: initialPost,
  evolve: evolvePost,
  decide: ({ data: { postId, userId } }, state) => {
    const post = requirePost(state, postId);
    // A like counts once per user: a second one records nothing.
    if (post.likedBy.has(userId)) return [];
    return [{ type: 'PostLiked', data: { postId, userId } }];
  },
};
