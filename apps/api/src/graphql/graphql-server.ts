import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { FastifyRequest } from 'fastify';
import { NoSchemaIntrospectionCustomRule, type GraphQLError } from 'graphql';
import mercurius, { type IResolvers, type MercuriusContext } from 'mercurius';
import type { Settings } from '@tidings/settings';
import { ProjectionAdmin } from '../admin/projections.controller';
import type { Authenticated, Access } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Catalog } from '../catalog/catalog.service';
import { Commands } from '../http/command-context';
import { problemOf, problems } from '../http/problem';
import { schema } from './schema';

/** API.md: depth ≤ 8, cost ≤ 1000, aliases ≤ 20 — checked while validating, before any resolver runs. */
export const GRAPHQL_LIMITS = { depth: 8, cost: 1_000, aliases: 20 } as const;

type Context = MercuriusContext;
const requestOf = (context: Context) => context.reply.request as FastifyRequest & Authenticated;

/** Access as on REST: an invalid token is refused, anonymous callers only reach public fields. */
function callerFor(context: Context, access: Exclude<Access, 'public'>): Principal {
  const { principal, authFailure } = requestOf(context);
  if (authFailure) throw problems.unauthorized(authFailure);
  if (!principal) throw problems.unauthorized('this request needs a bearer token');
  if (access !== 'authenticated' && !principal.roles.includes(access)) throw problems.forbidden(`this request needs the ${access} role`);
  return principal;
}

const positionOf = (position: bigint | undefined) => position?.toString() ?? null;

/** `/graphql` (and GraphiQL at `/graphiql` outside production) on the API's Fastify instance. */
export async function serveGraphql(app: NestFastifyApplication, settings: Settings): Promise<void> {
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
  };

  await app.getHttpAdapter().getInstance().register(mercurius, {
    schema,
    resolvers,
    path: '/graphql',
    graphiql: !settings.production,
    validationRules: [
      maxDepthRule({ n: GRAPHQL_LIMITS.depth }),
      costLimitRule({ maxCost: GRAPHQL_LIMITS.cost }),
      maxAliasesRule({ n: GRAPHQL_LIMITS.aliases }),
      ...(settings.production ? [NoSchemaIntrospectionCustomRule] : []),
    ],
    // Refusals keep their problem type and status, as extensions of the GraphQL error.
    errorFormatter: (execution, context) => {
      const formatted = mercurius.defaultErrorFormatter(execution, context);
      const errors = (execution.errors ?? []).map((error: GraphQLError) => {
        const problem = problemOf(error.originalError ?? error)?.problem;
        if (!problem) return error.toJSON();
        return { ...error.toJSON(), message: problem.detail, extensions: { type: problem.type, status: problem.status, ...(problem.errors ? { errors: problem.errors } : {}) } };
      });
      return { statusCode: formatted.statusCode, response: { ...formatted.response, errors } };
    },
  });
}

const withoutNulls = (values: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null && value !== undefined));
