import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { SelfFollow } from '../errors';
import { userFollowed, userUnfollowed } from '../social.fixture';
import { follow, type FollowUser } from './follow';

const followCommand = (followerId: string, followeeId: string): FollowUser => ({ type: 'FollowUser', data: { followerId, followeeId }, metadata: testCommandMetadata() });

describe('FollowUser', () => {
  const spec = deciderSpec(follow);

  it('follows a user', () => {
    spec.given([]).when(followCommand('bob', 'alice')).then([userFollowed('bob', 'alice')]);
  });

  it('records nothing when the user is followed already', () => {
    spec.given([userFollowed('bob', 'alice')]).when(followCommand('bob', 'alice')).then([]);
  });

  it('follows again after an unfollow', () => {
    spec.given([userFollowed('bob', 'alice'), userUnfollowed('bob', 'alice')]).when(followCommand('bob', 'alice')).then([userFollowed('bob', 'alice')]);
  });

  it('follows one user without touching the others', () => {
    spec.given([userFollowed('bob', 'alice')]).when(followCommand('bob', 'carol')).then([userFollowed('bob', 'carol')]);
  });

  it('refuses a self-follow, which the API answers with 422', () => {
    spec.given([]).when(followCommand('bob', 'bob')).thenThrows(SelfFollow, /bob cannot follow themselves/);
    expect(() => follow.decide(followCommand('bob', 'bob'), follow.initialState())).toThrow(expect.objectContaining({ code: 'self-follow' }));
  });
});
