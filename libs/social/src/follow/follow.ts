import type { Command, Decider } from '@tidings/core';
import { SelfFollow } from '../errors';
import { evolveFollows, initialFollows, type FollowEvent, type Follows } from '../follows';

/** Decided on the follower's stream, `user-<followerId>`. */
export type FollowUser = Command<'FollowUser', { followerId: string; followeeId: string }>;

export const follow: Decider<Follows, FollowUser, FollowEvent> = {
  initialState: initialFollows,
  evolve: evolveFollows,
  decide: ({ data: { followerId, followeeId } }, state) => {
    if (followerId === followeeId) throw new SelfFollow(followerId);
    // Following twice is the same wish as following once: nothing new to record.
    if (state.following.has(followeeId)) return [];
    return [{ type: 'UserFollowed', data: { followerId, followeeId } }];
  },
};
