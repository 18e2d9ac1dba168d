import type { Command, Decider } from '@tidings/core';
import { InvalidComment, requirePost } from '../errors';
import { evolvePost, initialPost, textProblem, type Post, type PostEvent } from '../posts';

/** The edge picks the comment id; the author is the caller. */
export type CommentOnPost = Command<'CommentOnPost', { postId: string; commentId: string; authorId: string; text: string }>;

export const commentOnPost: Decider<Post, CommentOnPost, PostEvent> = {
  initialState: initialPost,
  evolve: evolvePost,
  decide: (command, state) => {
    const { postId, commentId, authorId, text } = command.data;
    const post = requirePost(state, postId);
    const problem = textProblem(text);
    if (problem) throw new InvalidComment(problem);
    // The same comment sent again (a retry with a new command id) is already recorded.
    if (post.commentIds.has(commentId)) return [];
    return [{ type: 'PostCommented', data: { postId, commentId, authorId, text, commentedAt: command.metadata.now.toISOString() } }];
  },
};
