import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { PostNotFound } from '../errors';
import { POST_ID, postPublished, postShared } from '../social.fixture';
import { sharePost, type SharePost } from './share-post';

const share = (sharerId: string): SharePost => ({
  type: 'SharePost',
  data: { postId: POST_ID, sharerId },
  metadata: testCommandMetadata({ now: new Date('2026-02-01T10:00:00.000Z') }),
});

describe('SharePost', () => {
  const spec = deciderSpec(sharePost);

  it('shares a post at the time of the command', () => {
    spec.given([postPublished()]).when(share('bob')).then([postShared('bob', { sharedAt: '2026-02-01T10:00:00.000Z' })]);
  });

  it('records a second share by the same user as nothing', () => {
    spec.given([postPublished(), postShared('bob')]).when(share('bob')).then([]);
  });

  it('records shares of different users each', () => {
    spec.given([postPublished(), postShared('bob')]).when(share('carol')).then([postShared('carol', { sharedAt: '2026-02-01T10:00:00.000Z' })]);
  });

  it('refuses to share a post that does not exist', () => {
    spec.given([]).when(share('bob')).thenThrows(PostNotFound);
  });
});
