import { BusinessRuleViolation } from '@tidings/core';
import type { Post, PublishedPost } from './posts';

export class SelfFollow extends BusinessRuleViolation {
  constructor(readonly userId: string) {
    super('self-follow', `user ${userId} cannot follow themselves`);
  }
}

/** The API answers 404. */
export class PostNotFound extends BusinessRuleViolation {
  constructor(readonly postId: string) {
    super('post-not-found', `post ${postId} does not exist`);
  }
}

export class PostAlreadyPublished extends BusinessRuleViolation {
  constructor(readonly postId: string) {
    super('post-already-published', `post ${postId} is already published`);
  }
}

export class InvalidPost extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-post', reason);
  }
}

export class InvalidComment extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-comment', reason);
  }
}

export const requirePost = (post: Post, postId: string): PublishedPost => {
  if (post.status === 'none') throw new PostNotFound(postId);
  return post;
};
