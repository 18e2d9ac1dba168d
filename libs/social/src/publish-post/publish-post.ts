import type { Command, Decider } from '@tidings/core';
import { InvalidPost, PostAlreadyPublished } from '../errors';
import { evolvePost, initialPost, textProblem, type Post, type PostEvent } from '../posts';

/** Decided on `post-<postId>`; the edge picks the post id and the author is the caller. */
export type PublishPost = Command<'PublishPost', { postId: string; authorId: string; text: string }>;

export const publishPost: Decider<Post, PublishPost, PostEvent> = {
  initialState: initialPost,
  evolve: evolvePost,
  decide: (command, post) => {
    const { postId, authorId, text } = command.data;
    if (post.status !== 'none') throw new PostAlreadyPublished(postId);
    const problem = textProblem(text);
    if (problem) throw new InvalidPost(problem);
    return [{ type: 'PostPublished', data: { postId, authorId, text, publishedAt: command.metadata.now.toISOString() } }];
  },
};
