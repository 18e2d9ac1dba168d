import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { PostNotFound } from '../errors';
import { POST_ID, postLiked, postPublished, postUnliked } from '../social.fixture';
import { likePost, type LikePost } from './like-post';

const like = (userId: string): LikePost => ({ type: 'LikePost', data: { postId: POST_ID, userId }, metadata: testCommandMetadata() });

describe('LikePost', () => {
  const spec = deciderSpec(likePost);

  it('likes a post', () => {
    spec.given([postPublished()]).when(like('bob')).then([postLiked('bob')]);
  });

  it('counts a like once per user: liking twice records nothing', () => {
    spec.given([postPublished(), postLiked('bob')]).when(like('bob')).then([]);
  });

  it('counts likes of different users each', () => {
    spec.given([postPublished(), postLiked('bob')]).when(like('carol')).then([postLiked('carol')]);
  });

  it('likes again after an unlike', () => {
    spec.given([postPublished(), postLiked('bob'), postUnliked('bob')]).when(like('bob')).then([postLiked('bob')]);
  });

  it('refuses a like of a post that does not exist, which the API answers with 404', () => {
    spec.given([]).when(like('bob')).thenThrows(PostNotFound);
    expect(() => likePost.decide(like('bob'), likePost.initialState())).toThrow(expect.objectContaining({ code: 'post-not-found' }));
  });
});
