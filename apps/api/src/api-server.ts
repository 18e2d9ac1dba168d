import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Logger } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import { subscribeToNotifications, type EventTopology } from '@tidings/messaging';
import { DATABASE, NATS, TOPOLOGY } from '@tidings/platform';
import type { Settings } from '@tidings/settings';
import { authenticate, type Authenticated } from './auth/access';
import { idempotencyHooks } from './http/idempotency';
import { serveOpenApi } from './http/openapi';
import { serveGraphql } from './graphql/graphql-server';
import { serveLiveGateway } from './live/live-gateway';
import { problems } from './http/problem';
import { answerClientError, sendProblem } from './http/problem.filter';
import { refusal, requireUtf8, utf8Body } from './http/utf8-body';
import { Metrics } from './operations/metrics';

/** API.md: bodies over 1 MiB are refused with 413. */
const BODY_LIMIT = 1024 * 1024;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The one route that reads its body as CSV (API.md Imports). */
const CSV_ROUTE = '/imports/products';

/**
 * Fastify as the API wants it: body limit, a correlation id per request (the client's
 * `X-Correlation-Id`, or a new one), the client's address as the trusted proxies in front say
 * (rate limits and connection limits count per address), and problem+json for what it refuses
 * before routing (a malformed or over-long URL) and for what Node's HTTP parser refuses before
 * there is a request.
 */
export const apiAdapter = (settings: Settings): FastifyAdapter =>
  new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    trustProxy: fastifyTrust(settings.trustProxy),
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-correlation-id'];
      return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => sendProblem(request, reply, error),
    clientErrorHandler: answerClientError,
  });

/** TIDINGS_TRUST_PROXY as Fastify takes it: a hop count as the function Fastify makes of a number (which Nest's adapter type does not take). */
const fastifyTrust = (trust: Settings['trustProxy']) => (typeof trust === 'number' ? (_address: string, hop: number) => hop < trust : trust && [...trust]);

/**
 * Says once, at warn level, that requests come through a proxy (they carry X-Forwarded-For) that
 * TIDINGS_TRUST_PROXY does not name: every client behind it is then one address, to the rate
 * limits for anonymous calls and to the graphql-ws sockets an address may hold.
 */
function warnOfUntrustedProxy(logger: Logger) {
  let warned = false;
  return async (request: FastifyRequest) => {
    if (warned || request.headers['x-forwarded-for'] === undefined) return;
    warned = true;
    logger.warn(`requests come through a proxy at ${request.ip} (X-Forwarded-For) that TIDINGS_TRUST_PROXY does not name: its clients count as one address to the limits per address`);
  };
}

/**
 * What runs around every route, in Fastify hooks: authentication (before rate limiting, which
 * counts per user or, for anonymous calls, per IP), Idempotency-Key, the correlation id on the
 * answer, latency metrics. What Fastify itself refuses (413, bad JSON) reaches the ProblemFilter
 * through the error handler Nest installs when the application starts.
 */
export async function configureApi(app: NestFastifyApplication, settings: Settings): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(Metrics);
  const idempotency = idempotencyHooks(app.get<Pool>(DATABASE), sendProblem);

  // Bodies are JSON (API.md); Fastify's text/plain parser would hand routes a string. The start
  // creates the application without Nest's parsers, so no form is read as a body either: both are 415.
  fastify.removeContentTypeParser('text/plain');
  // CSV uploads reach their handler as the request stream, read as they arrive (never buffered whole); only the import takes one.
  fastify.addContentTypeParser('text/csv', (request, payload, done) => {
    if (request.routeOptions.url !== CSV_ROUTE) return done(refusal(415, `only POST ${CSV_ROUTE} takes text/csv; send JSON`));
    try {
      requireUtf8(request.headers['content-type'], 'CSV files');
    } catch (refused) {
      return done(refused as Error);
    }
    return done(null, payload);
  });
  // Fastify's JSON parser, on text read strictly as UTF-8 (utf8Body).
  const parseJsonText = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8Body(request.headers['content-type'], body);
    } catch (refused) {
      return done(refused as Error, undefined);
    }
    parseJsonText(request, text, done);
  });
  // mercurius also reads `application/graphql` bodies, as text read leniently (U+FFFD for bytes that are not UTF-8): queries come as JSON.
  fastify.addHook('onRequest', async (request) => {
    if (/^application\/graphql\b/i.test(request.headers['content-type'] ?? '')) throw refusal(415, 'send GraphQL queries as application/json');
  });
  if (settings.trustProxy === false) fastify.addHook('onRequest', warnOfUntrustedProxy(new Logger('api')));
  fastify.addHook('onRequest', authenticate(settings.jwtSecret));
  await fastify.register(rateLimit, {
    global: true,
    timeWindow: 60_000,
    max: (request: FastifyRequest) => ((request as FastifyRequest & Authenticated).principal ? settings.rateLimits.perUser : settings.rateLimits.perIp),
    keyGenerator: (request: FastifyRequest) => {
      const principal = (request as FastifyRequest & Authenticated).principal;
      return principal ? `user:${principal.userId}` : `ip:${request.ip}`;
    },
    allowList: (request: FastifyRequest) => request.url.startsWith('/health') || request.url === '/metrics' || request.url.startsWith('/docs') || request.url.startsWith('/ws'),
    errorResponseBuilder: (_request, context) => problems.rateLimited(Math.max(1, Math.ceil(context.ttl / 1000))),
  });
  fastify.addHook('preHandler', idempotency.preHandler);
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    void reply.header('x-correlation-id', request.id);
    return idempotency.onSend(request, reply, payload);
  });
  serveOpenApi(app);
  // One WebSocket server, for `/ws` and for GraphQL subscriptions on `/graphql`.
  await fastify.register(websocket, { options: { maxPayload: 64 * 1024 } });
  const toSubscriptions = await serveGraphql(app, settings);
  const toSockets = serveLiveGateway(app, settings);
  // Notifications from any API instance arrive through NATS core (`<ns>.notify.<channel>`).
  const notifications = subscribeToNotifications(app.get<NatsConnection>(NATS), app.get<EventTopology>(TOPOLOGY), (notification) => {
    toSockets(notification);
    toSubscriptions(notification);
  });
  fastify.addHook('onClose', async () => notifications.unsubscribe());
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
