import type { Principal } from '../auth/tokens';

/** What a client may subscribe to (API.md WebSocket), as the channel it hears on NATS; or why not. */
export type ChannelGrant = Readonly<{ channel: string }> | Readonly<{ refused: 403 | 404; detail: string }>;

/**
 * Authorization of a subscription. `feed` is the caller's own feed; `projection:<name>` and
 * `import:<jobId>` are for admins. Other users' resources answer 404, as on REST.
 */
export function grantChannel(channel: string, caller: Principal): ChannelGrant {
  const isAdmin = caller.roles.includes('admin');
  if (channel === 'feed') return { channel: `feed:${caller.userId}` };
  const [kind, id] = channel.split(/:(.*)/s, 2);
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) return { refused: 404, detail: `no channel "${channel}"` };
  if (kind === 'projection' || kind === 'import') return isAdmin ? { channel } : { refused: 403, detail: `${kind} channels are for admins` };
  return { refused: 404, detail: `no channel "${channel}"` };
}
