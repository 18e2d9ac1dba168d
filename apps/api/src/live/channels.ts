import { z } from 'zod';
import type { Principal } from '../auth/tokens';

/** Subscriptions one connection may hold at once: channels of a `/ws` socket, operations of a graphql-ws connection. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

/** What a client may subscribe to (API.md WebSocket), as the channel it hears on NATS; or why not. */
export type ChannelGrant = Readonly<{ channel: string }> | Readonly<{ refused: 403 | 404; detail: string }>;

/** The channel's kind and id: `order:<id>` → ['order', id]. */
export const channelParts = (channel: string): [string, string | undefined] => {
  const [kind, id] = channel.split(/:(.*)/s, 2);
  return [kind, id];
};

const UUID = z.uuid();

/** An import's channel id: its job id, a UUID read without regard to case (in lowercase, as jobs are named), or its X-Channel-Id as given. */
export const importChannelId = (id: string): string => (UUID.safeParse(id).success ? id.toLowerCase() : id);

/**
 * Authorization of a subscription. `feed` is the caller's own feed; `order:<id>` is for the
 * order's owner (`orderOwner`, looked up by the caller of this) and admins; `projection:<name>`
 * and `import:<jobId>` are for admins. Other users' resources answer 404, as on REST.
 */
export function grantChannel(channel: string, caller: Principal, orderOwner?: string): ChannelGrant {
  const isAdmin = caller.roles.includes('admin');
  if (channel === 'feed') return { channel: `feed:${caller.userId}` };
  const [kind, id] = channelParts(channel);
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return { refused: 404, detail: `no channel "${channel}"` };
  // An order id is a UUID, read without regard to case: its channel is the one the sagas publish on, in lowercase.
  if (kind === 'order') return orderOwner !== undefined && (isAdmin || orderOwner === caller.userId) ? { channel: `order:${id.toLowerCase()}` } : { refused: 404, detail: `no order ${id}` };
  if (kind === 'projection' || kind === 'import') return isAdmin ? { channel: `${kind}:${kind === 'import' ? importChannelId(id) : id}` } : { refused: 403, detail: `${kind} channels are for admins` };
  return { refused: 404, detail: `no channel "${channel}"` };
}
