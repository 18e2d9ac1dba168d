import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { userFollowed, userUnfollowed } from '../social.fixture';
import { unfollow, type UnfollowUser } from './unfollow';

const unfollowCommand = (followerId: string, followeeId: string): UnfollowUser => ({ type: 'UnfollowUser', data: { followerId, followeeId }, metadata: testCommandMetadata() });

describe('UnfollowUser', () => {
  const spec = deciderSpec(unfollow);

  it('unfollows a followed user', () => {
    spec.given([userFollowed('bob', 'alice'), userFollowed('bob', 'carol')]).when(unfollowCommand('bob', 'alice')).then([userUnfollowed('bob', 'alice')]);
  });

  it('records nothing when the user is not followed', () => {
    spec.given([]).when(unfollowCommand('bob', 'alice')).then([]);
    spec.given([userFollowed('bob', 'carol')]).when(unfollowCommand('bob', 'alice')).then([]);
  });

  it('records nothing when the user was unfollowed already', () => {
    spec.given([userFollowed('bob', 'alice'), userUnfollowed('bob', 'alice')]).when(unfollowCommand('bob', 'alice')).then([]);
  });

  it('records nothing for a self-unfollow: nobody follows themselves', () => {
    spec.given([]).when(unfollowCommand('bob', 'bob')).then([]);
  });
});
