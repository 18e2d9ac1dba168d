import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { Gauge } from 'prom-client';
import type { WebSocket } from 'ws';
import type { Notification } from '@tidings/messaging';
import { apiOrigin, type Settings } from '@tidings/settings';
import { InvalidToken, verifyToken, type Principal } from '../auth/tokens';
import { problems, type ProblemError } from '../http/problem';
import { sendProblem } from '../http/problem.filter';
import { Metrics } from '../operations/metrics';
import { Orders } from '../orders/orders.service';
import { channelParts, grantChannel, MAX_SUBSCRIPTIONS_PER_CONNECTION } from './channels';
import { OpenSockets } from './open-sockets';

type ClientMessage = Readonly<{ type: 'subscribe' | 'unsubscribe'; channel: string }>;
/** Sockets one user may hold open on an instance at once: tabs and devices, not thousands. */
const MAX_SOCKETS_PER_USER = 20;
/** What a socket may have waiting to be sent before it is closed as not reading. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * `/ws` (API.md WebSocket): `?token=<jwt>` and the Origin are checked on upgrade; each
 * subscription is authorized. Returns where notifications go to reach the sockets subscribed
 * to their channel.
 */
export function serveLiveGateway(app: NestFastifyApplication, settings: Settings): (notification: Notification) => void {
  const fastify = app.getHttpAdapter().getInstance();
  const orders = app.get(Orders);
  // Channel heard on NATS → the sockets listening, each with the name it subscribed under (`feed` for `feed:<user>`); a channel nobody listens to any more goes.
  const listeners = new Map<string, Map<WebSocket, string>>();
  const stopListening = (channel: string, socket: WebSocket) => {
    const sockets = listeners.get(channel);
    sockets?.delete(socket);
    if (sockets?.size === 0) listeners.delete(channel);
  };
  new Gauge({
    name: 'tidings_live_channels',
    help: 'Channels at least one WebSocket of this instance listens to',
    registers: [app.get(Metrics).registry],
    collect() {
      this.set(listeners.size);
    },
  });
  // When each socket's token expires: past it, the socket hears nothing more (its session has ended).
  const sessionEnds = new WeakMap<WebSocket, number>();
  const deliver = (notification: Notification) => {
    for (const [socket, channel] of listeners.get(notification.channel) ?? []) {
      if (Date.now() >= (sessionEnds.get(socket) ?? Infinity)) {
        socket.send(JSON.stringify({ channel: null, type: 'error', data: { status: 401, detail: 'the token has expired: connect again with a new one' } }));
        socket.close(4401, 'token expired');
      }
      // A client that stopped reading is let go rather than buffered for without end; it may connect again.
      else if (socket.bufferedAmount > MAX_BUFFERED_BYTES) socket.close(1013, 'not reading: connect again');
      else socket.send(JSON.stringify({ ...notification, channel }));
    }
  };
  const socketsOfUsers = new OpenSockets(MAX_SOCKETS_PER_USER, 'user');
  fastify.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
        const refusal = (await authorizeUpgrade(request, settings)) ?? socketsOfUsers.hold(request, (request as FastifyRequest & { principal: Principal }).principal.userId);
        if (!refusal) return undefined;
        sendProblem(request, reply, refusal);
        return reply;
      },
    },
    (socket: WebSocket, request: FastifyRequest) => {
      const token = (request.query as { token: string }).token;
      // Verified on upgrade, which also required its expiry.
      sessionEnds.set(socket, (decodeJwt(token).exp as number) * 1000);
      const mine = new Map<string, string>();
      const answer = (channel: string | null, type: string, data: unknown = null) => socket.send(JSON.stringify({ channel, type, data }));
      const handle = async (raw: string): Promise<void> => {
        const message = parseClientMessage(raw);
        if (!message) return answer(null, 'error', { status: 400, detail: 'send {"type":"subscribe"|"unsubscribe","channel":"…"}' });
        if (message.type === 'unsubscribe') {
          const heard = mine.get(message.channel);
          if (heard) stopListening(heard, socket);
          mine.delete(message.channel);
          return answer(message.channel, 'unsubscribed');
        }
        // The token is checked again: one that has expired since the upgrade subscribes to nothing more.
        const caller = await verifyToken(settings.jwtSecret, token).catch((error: unknown) => error as Error);
        if (caller instanceof Error) return answer(message.channel, 'error', { status: 401, detail: caller instanceof InvalidToken ? caller.message : 'the token is not valid' });
        const [kind, id] = channelParts(message.channel);
        const owner = kind === 'order' && id ? await orders.ownerOf(id).catch(() => undefined) : undefined;
        // Closed while the lookups ran: the close has let go of the socket's channels, and this one must not take it back.
        if (closed) return undefined;
        const grant = grantChannel(message.channel, caller, owner);
        if ('refused' in grant) return answer(message.channel, 'error', { status: grant.refused, detail: grant.detail });
        if (mine.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION && !mine.has(message.channel)) return answer(message.channel, 'error', { status: 429, detail: `at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} channels per connection` });
        mine.set(message.channel, grant.channel);
        listeners.set(grant.channel, (listeners.get(grant.channel) ?? new Map<WebSocket, string>()).set(socket, message.channel));
        return answer(message.channel, 'subscribed');
      };
      // One message at a time, in the order sent: an unsubscribe must not overtake the subscribe before it (which may wait for an order's owner).
      let handling = Promise.resolve();
      let closed = false;
      socket.on('message', (raw) => {
        // Only an answer to a socket closed meanwhile can fail: there is nobody left to tell.
        handling = handling.then(() => handle(String(raw))).catch(() => undefined);
      });
      socket.on('close', () => {
        closed = true;
        for (const heard of mine.values()) stopListening(heard, socket);
      });
    },
  );
  return deliver;
}

/** The Origin and the token of an upgrade; sets the caller, or answers why not. */
async function authorizeUpgrade(request: FastifyRequest, settings: Settings): Promise<ProblemError | undefined> {
  const origin = request.headers.origin;
  if (origin !== undefined && !allowedOrigins(settings, request.socket.localPort).includes(origin)) return problems.forbidden(`origin ${origin} is not allowed`);
  const token = (request.query as Record<string, unknown>).token;
  if (typeof token !== 'string') return problems.unauthorized('connect with ?token=<jwt>');
  try {
    (request as FastifyRequest & { principal?: Principal }).principal = await verifyToken(settings.jwtSecret, token);
    return undefined;
  } catch (error) {
    return problems.unauthorized(error instanceof InvalidToken ? error.message : 'the token is not valid');
  }
}

/**
 * Browsers send an Origin: only the API's own — on the port the connection came in on, which is
 * PORT unless PORT=0 left it to the system, by localhost, 127.0.0.1 or where TIDINGS_HOST has it
 * listen — or those of TIDINGS_ALLOWED_ORIGINS, may open a socket.
 */
const allowedOrigins = (settings: Settings, port: number | undefined): readonly string[] => {
  if (settings.allowedOrigins.length) return settings.allowedOrigins;
  const own = port ?? settings.port;
  return [...new Set([`http://localhost:${own}`, `http://127.0.0.1:${own}`, apiOrigin(settings.host, own)])];
};

function parseClientMessage(raw: string): ClientMessage | undefined {
  try {
    const message = JSON.parse(raw) as Partial<ClientMessage>;
    if ((message.type === 'subscribe' || message.type === 'unsubscribe') && typeof message.channel === 'string' && message.channel.length <= 200) {
      return { type: message.type, channel: message.channel };
    }
  } catch {
    // answered as invalid below
  }
  return undefined;
}
