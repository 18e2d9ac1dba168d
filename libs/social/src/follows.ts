import type { Message } from '@tidings/core';

/** One stream per user, `user-<userId>`: the follows the user made, as the follower. */
export const userStreamId = (userId: string): string => `user-${userId}`;

export type UserFollowed = Message<'UserFollowed', { followerId: string; followeeId: string }>;
export type UserUnfollowed = Message<'UserUnfollowed', { followerId: string; followeeId: string }>;

export type FollowEvent = UserFollowed | UserUnfollowed;

/** Whom the user follows now. */
export type Follows = Readonly<{ following: ReadonlySet<string> }>;

export const initialFollows = (): Follows => ({ following: new Set() });

export function evolveFollows(state: Follows, event: FollowEvent): Follows {
  const following = new Set(state.following);
  switch (event.type) {
    case 'UserFollowed':
      following.add(event.data.followeeId);
      return { following };
    case 'UserUnfollowed':
      following.delete(event.data.followeeId);
      return { following };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
