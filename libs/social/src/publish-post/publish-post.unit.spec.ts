import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { InvalidPost, PostAlreadyPublished } from '../errors';
import { AUTHOR_ID, POST_ID, postPublished } from '../social.fixture';
import { publishPost, type PublishPost } from './publish-post';

const publish = (text = 'Hello, world'): PublishPost => ({
  type: 'PublishPost',
  data: { postId: POST_ID, authorId: AUTHOR_ID, text },
  metadata: testCommandMetadata({ now: new Date('2026-03-04T05:06:07.089Z') }),
});

describe('PublishPost', () => {
  const spec = deciderSpec(publishPost);

  it('publishes a post at the time of the command', () => {
    spec.given([]).when(publish()).then([postPublished({ publishedAt: '2026-03-04T05:06:07.089Z' })]);
  });

  it('accepts 1 to 5000 characters, counting an emoji as one', () => {
    spec.given([]).when(publish('x')).then([postPublished({ text: 'x', publishedAt: '2026-03-04T05:06:07.089Z' })]);
    const emojis = '🙂'.repeat(5000);
    spec.given([]).when(publish(emojis)).then([postPublished({ text: emojis, publishedAt: '2026-03-04T05:06:07.089Z' })]);
  });

  it('refuses empty, blank and too long text as invalid-post', () => {
    spec.given([]).when(publish('')).thenThrows(InvalidPost, /not 0/);
    spec.given([]).when(publish('  \n ')).thenThrows(InvalidPost, /blank/);
    spec.given([]).when(publish('x'.repeat(5001))).thenThrows(InvalidPost, /not 5001/);
    expect(() => publishPost.decide(publish(''), publishPost.initialState())).toThrow(expect.objectContaining({ code: 'invalid-post' }));
  });

  it('refuses to publish a post id twice', () => {
    spec.given([postPublished()]).when(publish()).thenThrows(PostAlreadyPublished);
    expect(() => publishPost.decide(publish(), publishPost.evolve(publishPost.initialState(), postPublished()))).toThrow(
      expect.objectContaining({ code: 'post-already-published' }),
    );
  });
});
