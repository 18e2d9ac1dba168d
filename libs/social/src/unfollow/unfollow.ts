import type { Command, Decider } from '@tidings/core';
import { evolveFollows, initialFollows, type FollowEvent, type Follows } from '../follows';

/** Decided on the follower's stream, `user-<followerId>`. */
export type UnfollowUser = Command<'UnfollowUser', { followerId: string; followeeId: string }>;

export const unfollow: Decider<Follows, UnfollowUser, FollowEvent> = {
  initialState: initialFollows,
  evolve: evolveFollows,
  // Not following already is what the caller asked for: nothing to record, nothing to refuse.
  decide: ({ data: { followerId, followeeId } }, state) =>
    state.following.has(followeeId) ? [{ type: 'UserUnfollowed', data: { followerId, followeeId } }] : [],
};
