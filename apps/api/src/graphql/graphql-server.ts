import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, SingleFieldSubscriptionsRule, validate, type GraphQLResolveInfo } from 'graphql';
import mercurius, { withFilter, type IResolvers, type MercuriusContext } from 'mercurius';
import { orderStatusOnceSettled, type SettledStatus } from '@tidings/checkout';
import type { Notification } from '@tidings/messaging';
import type { Settings } from '@tidings/settings';
import { ProjectionAdmin } from '../admin/projections.controller';
import { SagaAdmin } from '../admin/sagas.controller';
import { admit, authenticationOf, type Access, type Authenticated } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Catalog } from '../catalog/catalog.service';
import { Commands } from '../http/command-context';
import { problemOf, problems } from '../http/problem';
import { Imports } from '../imports/imports.service';
import { sendProblem } from '../http/problem.filter';
import { grantChannel, MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../live/channels';
import { OpenSockets } from '../live/open-sockets';
import { Orders } from '../orders/orders.service';
import { Social } from '../social/social.service';
import { Views } from '../views/views.service';
import { graphqlAnswers, graphqlTextOnly, problemExtensions } from './graphql-errors';
import { limitRules } from './graphql-limits';
import { schema } from './schema';

const logger = new Logger('graphql');
const GRAPHQL_PATH = '/graphql';
/** graphql-ws sockets one client address may hold open on an instance at once (behind a NAT, many users share one). */
const MAX_GRAPHQL_SOCKETS_PER_ADDRESS = 200;

/** A subscription's context also holds who its `connection_init` authenticated, and the connection's subscriptions running. */
type Context = MercuriusContext & Authenticated & { running?: Running };

/** A mutation on an aggregate: the version it was last read at (`version`), as REST's If-Match; a mismatch is 409 and changes nothing. */
type Expecting = Readonly<{ expectedVersion?: number | null }>;

/** The version a mutation expects, if it names one (GraphQL passes null for an argument given as null). */
const expecting = (args: Expecting): number | undefined => args.expectedVersion ?? undefined;
const requestOf = (context: Context) => context.reply.request as FastifyRequest & Authenticated;

/**
 * Access as on REST: an invalid token is refused, anonymous callers only reach public fields.
 * Over HTTP the caller is the request's; a subscription's is its `connection_init` token's, or
 * else the upgrade request's.
 */
const callerFor = (context: Context, access: Exclude<Access, 'public'>): Principal =>
  admit(context.principal || context.authFailure ? context : requestOf(context), access) as Principal;

/** The caller of a public field: undefined when anonymous (an invalid token is still refused). */
const anyCaller = (context: Context): Principal | undefined => admit(context.principal || context.authFailure ? context : requestOf(context), 'public');

const positionOf = (position: bigint | undefined) => position?.toString() ?? null;

/** What a lookup answers for a missing (or someone else's) resource: null, as a nullable field says, rather than a 404. */
async function orNull<T>(lookup: Promise<T>): Promise<T | null> {
  try {
    return await lookup;
  } catch (error) {
    if (problemOf(error)?.problem.status === 404) return null;
    throw error;
  }
}

/** A connection's subscriptions running: counted from a subscribe that succeeded until its stream ends. */
type Running = { count: number };

/**
 * A subscription's `subscribe`, held to MAX_SUBSCRIPTIONS_PER_CONNECTION a connection (as a /ws
 * socket's channels: each is fed every notification of its topic); one refused as it starts
 * counts for nothing, and keeps its problem's type and status as extensions (the error
 * formatter below sees only the results of queries and mutations).
 */
const heldSubscription =
  <Args>(subscribe: (root: unknown, args: Args, context: Context, info: GraphQLResolveInfo) => Promise<AsyncIterator<unknown>>) =>
  async (root: unknown, args: Args, context: Context, info: GraphQLResolveInfo): Promise<AsyncIterator<unknown>> => {
    const { running } = context;
    let stream: AsyncIterator<unknown>;
    try {
      if (running && running.count >= MAX_SUBSCRIPTIONS_PER_CONNECTION) throw problems.tooManySubscriptions(`at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; complete one first`);
      // Its place is taken before its checks, which wait: subscriptions sent together are counted together.
      if (running) running.count++;
      stream = await subscribe(root, args, context, info).catch((refused: unknown) => {
        if (running) running.count--;
        throw refused;
      });
    } catch (error) {
      const problem = problemOf(error)?.problem;
      throw problem ? new GraphQLError(problem.detail, { extensions: problemExtensions(problem) }) : error;
    }
    if (!running) return stream;
    let ended = false;
    const end = stream.return?.bind(stream);
    return Object.assign(stream, {
      return: (value?: unknown) => {
        if (!ended) running.count--;
        ended = true;
        return end ? end(value) : Promise.resolve({ value, done: true as const });
      },
    });
  };

/**
 * `/graphql` (and GraphiQL at `/graphiql` outside production) on the API's Fastify instance, with
 * subscriptions over graphql-ws on the same path. Returns where the API's notifications go to
 * reach the subscriptions (their topic is the notification's channel).
 */
export async function serveGraphql(app: NestFastifyApplication, settings: Settings): Promise<(notification: Notification) => void> {
  const catalog = app.get(Catalog);
  const projections = app.get(ProjectionAdmin);
  const orders = app.get(Orders);
  const sagas = app.get(SagaAdmin);
  const commands = app.get(Commands);
  const views = app.get(Views);
  const social = app.get(Social);
  const imports = app.get(Imports);
  /** A subscription's caller: its connection_init token checked again (it may have expired since), or as over HTTP. */
  const subscriberFor = async (context: Context, access: Exclude<Access, 'public'>): Promise<Principal> => {
    const { authorization } = context as Context & { authorization?: string };
    return authorization === undefined ? callerFor(context, access) : (admit(await authenticationOf(settings.jwtSecret, authorization), access) as Principal);
  };
  /** A mutation's command: under an Idempotency-Key, each mutation of the request has an id of its own, named by its field in the answer. */
  const metadataOf = (context: Context, caller: Principal | undefined, info: GraphQLResolveInfo) => commands.metadata(requestOf(context), caller, String(info.path.key));

  // Only the saga's `status` notifications of an order's channel are status changes.
  const settlements = withFilter(
    (_root, args: { channel: string }, context: Context) => context.pubsub.subscribe(args.channel),
    (notification: Notification) => notification.type === 'status',
  );

  const resolvers: IResolvers = {
    Query: {
      product: (_root, args: { sku: string; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'authenticated');
        return orNull(catalog.product(args.sku, args.minPosition ?? undefined));
      },
      products: (_root, args: { limit?: number; cursor?: string | null; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'authenticated');
        return catalog.products(withoutNulls({ limit: args.limit, cursor: args.cursor, minPosition: args.minPosition }));
      },
      order: (_root, args: { orderId: string; minPosition?: string | null }, context: Context) => {
        const caller = callerFor(context, 'authenticated');
        return orNull(orders.order(args.orderId, caller, args.minPosition ?? undefined));
      },
      orders: (_root, args: Record<string, unknown>, context: Context) => {
        const caller = callerFor(context, 'authenticated');
        return orders.orders(withoutNulls(args), caller);
      },
      sagas: (_root, args: Record<string, unknown>, context: Context) => {
        callerFor(context, 'admin');
        return sagas.list(withoutNulls(args));
      },
      saga: async (_root, args: { sagaId: string; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'admin');
        const saga = await orNull(sagas.show(args.sagaId, args.minPosition ?? undefined));
        return saga && { ...saga, history: saga.history.map((entry) => ({ ...entry, data: JSON.stringify(entry.data) })) };
      },
      projections: (_root, _args, context: Context) => {
        callerFor(context, 'admin');
        return projections.list();
      },
      videoViews: (_root, { videoId, ...query }: Record<string, unknown>, context: Context) => {
        callerFor(context, 'authenticated');
        return views.videoViews(String(videoId), withoutNulls(query));
      },
      trendingVideos: (_root, args: Record<string, unknown>, context: Context) => {
        callerFor(context, 'authenticated');
        return views.trending(withoutNulls(args));
      },
      feed: (_root, args: Record<string, unknown>, context: Context) => social.feedOf(callerFor(context, 'authenticated'), withoutNulls(args)),
      post: (_root, args: { postId: string; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'authenticated');
        return orNull(social.post(args.postId, args.minPosition ?? undefined));
      },
      importJob: (_root, { jobId, ...query }: Record<string, unknown>, context: Context) => {
        callerFor(context, 'admin');
        return orNull(imports.job(String(jobId), withoutNulls(query)));
      },
    },
    Mutation: {
      registerProduct: async (_root, args: Record<string, unknown>, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'admin');
        const registered = await catalog.register(withoutNulls(args), metadataOf(context, caller, info));
        return { sku: registered.sku, position: positionOf(registered.position) };
      },
      receiveStock: async (_root, args: { sku: string; quantity: number } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'admin');
        const receipt = await catalog.receive(args.sku, { quantity: args.quantity }, expecting(args), metadataOf(context, caller, info));
        return { sku: receipt.sku, onHand: receipt.onHand, available: receipt.available, position: positionOf(receipt.position) };
      },
      placeOrder: async (_root, args: Record<string, unknown>, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        const placed = await orders.place(args, caller, metadataOf(context, caller, info));
        return { ...placed, position: positionOf(placed.position) };
      },
      cancelOrder: async (_root, args: { orderId: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        const cancelling = await orders.cancel(args.orderId, caller, metadataOf(context, caller, info), expecting(args));
        return { ...cancelling, position: positionOf(cancelling.position) };
      },
      retrySaga: async (_root, args: { sagaId: string; reason?: string | null } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'admin');
        const retrying = await sagas.retry(args.sagaId, withoutNulls({ reason: args.reason }), metadataOf(context, caller, info), expecting(args));
        return { ...retrying, position: positionOf(retrying.position) };
      },
      compensateSaga: async (_root, args: { sagaId: string; reason: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'admin');
        const compensating = await sagas.compensate(args.sagaId, { reason: args.reason }, metadataOf(context, caller, info), expecting(args));
        return { ...compensating, position: positionOf(compensating.position) };
      },
      rebuildProjection: (_root, args: { name: string }, context: Context) => {
        callerFor(context, 'admin');
        return projections.rebuild(args.name);
      },
      recordView: async (_root, { videoId, ...view }: Record<string, unknown>, context: Context, info: GraphQLResolveInfo) => {
        const caller = anyCaller(context);
        const recorded = await views.recordMany({ views: [withoutNulls({ videoId, ...view })] }, caller, metadataOf(context, caller, info));
        return { accepted: recorded.accepted, position: positionOf(recorded.position) };
      },
      follow: async (_root, args: { userId: string }, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        return { position: positionOf((await social.follow(args.userId, undefined, caller, metadataOf(context, caller, info))).position) };
      },
      unfollow: async (_root, args: { userId: string }, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        return { position: positionOf((await social.unfollow(args.userId, undefined, caller, metadataOf(context, caller, info))).position) };
      },
      publishPost: async (_root, args: { text: string }, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        const published = await social.publish({ text: args.text }, caller, metadataOf(context, caller, info));
        return { postId: published.postId, position: positionOf(published.position) };
      },
      likePost: async (_root, args: { postId: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        return { position: positionOf((await social.like(args.postId, undefined, caller, metadataOf(context, caller, info), expecting(args))).position) };
      },
      unlikePost: async (_root, args: { postId: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        return { position: positionOf((await social.unlike(args.postId, undefined, caller, metadataOf(context, caller, info), expecting(args))).position) };
      },
      commentOnPost: async (_root, args: { postId: string; text: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        const commented = await social.comment(args.postId, { text: args.text }, caller, metadataOf(context, caller, info), expecting(args));
        return { commentId: commented.commentId, position: positionOf(commented.position) };
      },
      sharePost: async (_root, args: { postId: string } & Expecting, context: Context, info: GraphQLResolveInfo) => {
        const caller = callerFor(context, 'authenticated');
        const shared = await social.share(args.postId, undefined, caller, metadataOf(context, caller, info), expecting(args));
        return { postId: shared.postId, position: positionOf(shared.position) };
      },
    },
    Subscription: {
      projectionStatus: {
        subscribe: heldSubscription(async (_root: unknown, args: { name: string }, context: Context) => {
          await subscriberFor(context, 'admin');
          return context.pubsub.subscribe(`projection:${args.name}`);
        }),
        resolve: (notification: Notification, args: { name: string }) => ({ ...(notification.data as object), type: notification.type, projection: args.name }),
      },
      orderStatusChanged: {
        // The owner or an admin, as on the WebSocket (the owner from the order's stream, so an order just placed can be watched); others get a 404.
        subscribe: heldSubscription(async (root: unknown, args: { orderId: string }, context: Context, info: GraphQLResolveInfo) => {
          const grant = grantChannel(`order:${args.orderId}`, await subscriberFor(context, 'authenticated'), await orders.ownerOf(args.orderId));
          if ('refused' in grant) throw problems.notFound(grant.detail);
          return settlements(root, { channel: grant.channel }, context, info);
        }),
        resolve: (notification: Notification, args: { orderId: string }) => ({ orderId: args.orderId, status: orderStatusOf(notification.data) }),
      },
      feedUpdated: {
        // The caller's own feed channel, as the WebSocket's `feed` grants it: nobody hears another's feed.
        subscribe: heldSubscription(async (_root: unknown, _args: unknown, context: Context) => {
          const grant = grantChannel('feed', await subscriberFor(context, 'authenticated'));
          if ('refused' in grant) throw problems.notFound(grant.detail);
          return context.pubsub.subscribe(grant.channel);
        }),
        resolve: (notification: Notification) => notification.data,
      },
      importProgress: {
        // Admins, as the WebSocket's `import:<jobId>`.
        subscribe: heldSubscription(async (_root: unknown, args: { jobId: string }, context: Context) => {
          const grant = grantChannel(`import:${args.jobId}`, await subscriberFor(context, 'admin'));
          if ('refused' in grant) throw problems.notFound(grant.detail);
          return context.pubsub.subscribe(grant.channel);
        }),
        resolve: (notification: Notification) => ({ ...(notification.data as object), type: notification.type }),
      },
    },
  };

  const fastify = app.getHttpAdapter().getInstance();
  // graphql-ws connections authenticate after the upgrade (in connection_init), so they are held per client address.
  const socketsOfAddresses = new OpenSockets(MAX_GRAPHQL_SOCKETS_PER_ADDRESS, 'client address');
  fastify.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const refusal = request.routeOptions.url === GRAPHQL_PATH ? socketsOfAddresses.hold(request, request.ip) : undefined;
    if (!refusal) return undefined;
    sendProblem(request, reply, refusal);
    return reply;
  });
  await fastify.register(mercurius, {
    schema,
    resolvers,
    path: GRAPHQL_PATH,
    graphiql: !settings.production,
    // The cost of a query depends on its variables (a page's limit), so its rules are made per request, uncached.
    cache: false,
    validationRules: ({ variables, operationName }) => limitRules({ variables, operationName, production: settings.production }),
    subscription: {
      // graphql-ws: `connection_init` may carry `{ "authorization": "Bearer <jwt>" }`. A bad token is
      // acknowledged and each subscription refused (401, why in its error), as over HTTP: refusing the
      // connection, mercurius answers `connection_error`, which graphql-transport-ws clients cannot read.
      onConnect: async ({ payload }: { payload?: { authorization?: unknown } | null }) => {
        const header = payload?.authorization;
        const running: Running = { count: 0 };
        // The header is kept: each subscription checks it again, so a token that expired since starts nothing more.
        return typeof header === 'string' ? { ...(await authenticationOf(settings.jwtSecret, header)), authorization: header, running } : { running };
      },
    },
    errorFormatter: graphqlAnswers((line) => logger.error(line)),
  });
  const { graphql } = fastify;
  graphql.addHook('preParsing', async (_schema, source) => graphqlTextOnly(source));
  // Subscriptions skip the validation rules above: hold them to the same limits before they start,
  // and to one root field each (a second one was never answered).
  graphql.addHook('preSubscriptionExecution', async (schemaOf, document) => {
    const refusals = validate(schemaOf, document, [SingleFieldSubscriptionsRule, ...limitRules({ production: settings.production, withCost: false })]);
    if (refusals.length) throw new GraphQLError(refusals.map((refusal) => refusal.message).join(' '));
  });
  return (notification) => graphql.pubsub.publish({ topic: notification.channel, payload: notification });
}

/** An order's status from its `status` notification; a sagas process of the version before sent only its saga's. */
const orderStatusOf = (data: unknown) => {
  const { status, saga } = (data ?? {}) as { status?: string; saga?: SettledStatus };
  return status ?? orderStatusOnceSettled(saga ?? 'failed');
};

const withoutNulls = (values: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined));
