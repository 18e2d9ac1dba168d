import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { PostNotFound } from '../errors';
import { POST_ID, postLiked, postPublished, postUnliked } from '../social.fixture';
import { unlikePost, type UnlikePost } from './unlike-post';

const unlike = (userId: string): UnlikePost => ({ type: 'UnlikePost', data: { postId: POST_ID, userId }, metadata: testCommandMetadata() });

describe('UnlikePost', () => {
  const spec = deciderSpec(unlikePost);

  it('takes back a like', () => {
    spec.given([postPublished(), postLiked('bob'), postLiked('carol')]).when(unlike('bob')).then([postUnliked('bob')]);
  });

  it('records nothing when the user does not like the post', () => {
    spec.given([postPublished(), postLiked('carol')]).when(unlike('bob')).then([]);
    spec.given([postPublished(), postLiked('bob'), postUnliked('bob')]).when(unlike('bob')).then([]);
  });

  it('refuses an unlike of a post that does not exist', () => {
    spec.given([]).when(unlike('bob')).thenThrows(PostNotFound);
  });
});
