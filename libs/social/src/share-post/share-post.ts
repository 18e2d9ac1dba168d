import type { Command, Decider } from '@tidings/core';
import { requirePost } from '../errors';
import { evolvePost, initialPost, type Post, type PostEvent } from '../posts';

export type SharePost = Command<'SharePost', { postId: string; sharerId: string }>;

export const sharePost: Decider<Post, SharePost, PostEvent> = {
  initialState: initialPost,
  evolve: evolvePost,
  decide: (command, state) => {
    const { postId, sharerId } = command.data;
    const post = requirePost(state, postId);
    // A user shares a post once: the sharer's followers see it once.
    if (post.sharedBy.has(sharerId)) return [];
    return [{ type: 'PostShared', data: { postId, sharerId, sharedAt: command.metadata.now.toISOString() } }];
  },
};
