import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { GraphQLError, validate } from 'graphql';
import mercurius, { type IResolvers, type MercuriusContext } from 'mercurius';
import type { Notification } from '@tidings/messaging';
import type { Settings } from '@tidings/settings';
import { ProjectionAdmin } from '../admin/projections.controller';
import { admit, authenticationOf, type Access, type Authenticated } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Catalog } from '../catalog/catalog.service';
import { Commands } from '../http/command-context';
import { problemOf } from '../http/problem';
import { limitRules } from './graphql-limits';
import { schema } from './schema';

/** A subscription's context also holds who its `connection_init` authenticated. */
type Context = MercuriusContext & Authenticated;
const requestOf = (context: Context) => context.reply.request as FastifyRequest & Authenticated;

/**
 * Access as on REST: an invalid token is refused, anonymous callers only reach public fields.
 * Over HTTP the caller is the request's; a subscription's is its `connection_init` token's, or
 * else the upgrade request's.
 */
const callerFor = (context: Context, access: Exclude<Access, 'public'>): Principal =>
  admit(context.principal || context.authFailure ? context : requestOf(context), access) as Principal;

const positionOf = (position: bigint | undefined) => position?.toString() ?? null;

/**
 * `/graphql` (and GraphiQL at `/graphiql` outside production) on the API's Fastify instance, with
 * subscriptions over graphql-ws on the same path. Returns where the API's notifications go to
 * reach the subscriptions (their topic is the notification's channel).
 */
export async function serveGraphql(app: NestFastifyApplication, settings: Settings): Promise<(notification: Notification) => void> {
  const catalog = app.get(Catalog);
  const projections = app.get(ProjectionAdmin);
  const commands = app.get(Commands);

  const resolvers: IResolvers = {
    Query: {
      product: async (_root, args: { sku: string; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'authenticated');
        try {
          return await catalog.product(args.sku, args.minPosition ?? undefined);
        } catch (error) {
          if (problemOf(error)?.problem.status === 404) return null;
          throw error;
        }
      },
      products: (_root, args: { limit?: number; cursor?: string | null; minPosition?: string | null }, context: Context) => {
        callerFor(context, 'authenticated');
        return catalog.products(withoutNulls({ limit: args.limit, cursor: args.cursor, minPosition: args.minPosition }));
      },
      projections: (_root, _args, context: Context) => {
        callerFor(context, 'admin');
        return projections.list();
      },
    },
    Mutation: {
      registerProduct: async (_root, args: Record<string, unknown>, context: Context) => {
        const caller = callerFor(context, 'admin');
        const registered = await catalog.register(withoutNulls(args), commands.metadata(requestOf(context), caller));
        return { sku: registered.sku, position: positionOf(registered.position) };
      },
      receiveStock: async (_root, args: { sku: string; quantity: number; expectedVersion?: number | null }, context: Context) => {
        const caller = callerFor(context, 'admin');
        const receipt = await catalog.receive(args.sku, { quantity: args.quantity }, args.expectedVersion ?? undefined, commands.metadata(requestOf(context), caller));
        return { sku: receipt.sku, onHand: receipt.onHand, available: receipt.available, position: positionOf(receipt.position) };
      },
      rebuildProjection: (_root, args: { name: string }, context: Context) => {
        callerFor(context, 'admin');
        return projections.rebuild(args.name);
      },
    },
    Subscription: {
      projectionStatus: {
        subscribe: (_root, args: { name: string }, context: Context) => {
          callerFor(context, 'admin');
          return context.pubsub.subscribe(`projection:${args.name}`);
        },
        resolve: (notification: Notification, args: { name: string }) => ({ ...(notification.data as object), type: notification.type, projection: args.name }),
      },
    },
  };

  await app.getHttpAdapter().getInstance().register(mercurius, {
    schema,
    resolvers,
    path: '/graphql',
    graphiql: !settings.production,
    // The cost of a query depends on its variables (a page's limit), so its rules are made per request, uncached.
    cache: false,
    validationRules: ({ variables, operationName }) => limitRules({ variables, operationName, production: settings.production }),
    subscription: {
      // graphql-ws: `connection_init` may carry `{ "authorization": "Bearer <jwt>" }`; a bad token refuses the connection.
      onConnect: async ({ payload }: { payload?: { authorization?: unknown } | null }) => {
        const header = payload?.authorization;
        if (typeof header !== 'string') return true;
        const who = await authenticationOf(settings.jwtSecret, header);
        return who.principal ? { principal: who.principal } : false;
      },
    },
    // Refusals keep their problem type and status, as extensions of the GraphQL error.
    errorFormatter: (execution, context) => {
      const formatted = mercurius.defaultErrorFormatter(execution, context);
      const errors = (execution.errors ?? []).flatMap((error: GraphQLError) => {
        // A refused document arrives as one error holding the validation errors; each is reported.
        const refusals = (error.originalError as { errors?: GraphQLError[] } | undefined)?.errors;
        if (Array.isArray(refusals)) return refusals.map((refusal) => ({ message: refusal.message, ...(refusal.locations ? { locations: refusal.locations } : {}) }));
        const problem = problemOf(error.originalError ?? error)?.problem;
        if (!problem) return [error.toJSON()];
        return [{ ...error.toJSON(), message: problem.detail, extensions: { type: problem.type, status: problem.status, ...(problem.errors ? { errors: problem.errors } : {}) } }];
      });
      return { statusCode: formatted.statusCode, response: { ...formatted.response, errors } };
    },
  });
  const graphql = app.getHttpAdapter().getInstance().graphql;
  // Subscriptions skip the validation rules above: hold them to the same limits before they start.
  graphql.addHook('preSubscriptionExecution', async (schemaOf, document) => {
    const refusals = validate(schemaOf, document, limitRules({ production: settings.production, withCost: false }));
    if (refusals.length) throw new GraphQLError(refusals.map((refusal) => refusal.message).join(' '));
  });
  return (notification) => graphql.pubsub.publish({ topic: notification.channel, payload: notification });
}

const withoutNulls = (values: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined));
