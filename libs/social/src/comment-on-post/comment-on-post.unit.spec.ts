import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { InvalidComment, PostNotFound } from '../errors';
import { POST_ID, postCommented, postPublished } from '../social.fixture';
import { commentOnPost, type CommentOnPost } from './comment-on-post';

const comment = (commentId: string, text = 'Nice'): CommentOnPost => ({
  type: 'CommentOnPost',
  data: { postId: POST_ID, commentId, authorId: 'bob', text },
  metadata: testCommandMetadata({ now: new Date('2026-02-01T10:00:00.000Z') }),
});

describe('CommentOnPost', () => {
  const spec = deciderSpec(commentOnPost);

  it('comments on a post at the time of the command', () => {
    spec.given([postPublished()]).when(comment('c-1')).then([postCommented('c-1', { commentedAt: '2026-02-01T10:00:00.000Z' })]);
  });

  it('lets a user comment more than once', () => {
    spec.given([postPublished(), postCommented('c-1')]).when(comment('c-2')).then([postCommented('c-2', { commentedAt: '2026-02-01T10:00:00.000Z' })]);
  });

  it('records a comment id once', () => {
    spec.given([postPublished(), postCommented('c-1')]).when(comment('c-1')).then([]);
  });

  it('refuses a comment on a post that does not exist', () => {
    spec.given([]).when(comment('c-1')).thenThrows(PostNotFound, /does not exist/);
  });

  it('refuses empty, blank and too long comments as invalid-comment', () => {
    spec.given([postPublished()]).when(comment('c-1', '')).thenThrows(InvalidComment, /not 0/);
    spec.given([postPublished()]).when(comment('c-1', ' ')).thenThrows(InvalidComment, /blank/);
    spec.given([postPublished()]).when(comment('c-1', 'x'.repeat(5001))).thenThrows(InvalidComment, /not 5001/);
    expect(() => commentOnPost.decide(comment('c-1', ''), commentOnPost.evolve(commentOnPost.initialState(), postPublished()))).toThrow(
      expect.objectContaining({ code: 'invalid-comment' }),
    );
  });
});
