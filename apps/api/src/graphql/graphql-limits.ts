import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { getOperationAST, GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ValidationContext, type ValidationRule } from 'graphql';
import { createComplexityRule, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { bucketsOf, rangeWithDefaults, VIEW_GRANULARITIES, VIEW_TIMES, type ViewGranularity } from '@tidings/views';

/** API.md: depth ≤ 8, cost ≤ 1000, aliases ≤ 20 — checked while validating, before any resolver runs. */
export const GRAPHQL_LIMITS = { depth: 8, cost: 1_000, aliases: 20 } as const;

/**
 * A list field costs one plus what it selects, times the items it may return (its `limit`,
 * after defaults); every other field costs one plus what it selects. So `products(limit: 100)`
 * selecting two fields of each item costs 1 + 100 × 3.
 */
const listsCostTheirLimit: ComplexityEstimator = ({ args, childComplexity }) =>
  typeof args.limit === 'number' ? 1 + Math.max(args.limit, 0) * childComplexity : undefined;

/** Buckets of `videoViews` one cost unit pays for: a request reads at most 20,000 (REST answers 10,000 a call). */
const BUCKETS_PER_COST = 20;

/**
 * `videoViews` answers a bucket for each minute, hour or day of its range, as many as its
 * arguments ask (up to 10,000): it costs them, a twentieth each, besides what it selects. A
 * range it will refuse costs nothing more; the refusal comes from the query itself.
 */
const bucketsCostTheirCount: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (field.name !== 'videoViews') return undefined;
  const granularity = (VIEW_GRANULARITIES as readonly unknown[]).includes(args.granularity) ? (args.granularity as ViewGranularity) : 'hour';
  const given = (time: unknown) => (typeof time === 'string' && Number.isFinite(Date.parse(time)) ? new Date(time) : undefined);
  try {
    const { count } = bucketsOf({ ...rangeWithDefaults({ from: given(args.from), to: given(args.to) }, new Date()), granularity }, VIEW_TIMES.first);
    return 1 + childComplexity + Math.ceil(count / BUCKETS_PER_COST);
  } catch {
    return 1 + childComplexity;
  }
};

/** graphql-armor throws its first refusal; reported instead, it joins the others (and loses armor's "Syntax Error:" prefix). */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')))],
};

export type LimitedOperation = Readonly<{
  variables?: Record<string, unknown>;
  /** As the request gives it: null (as most clients send for an anonymous query) is no name. */
  operationName?: string | null;
  /** Introspection is refused in production. */
  production: boolean;
  /** Subscriptions are checked before their variables are known, so without the cost rule (they select no lists). */
  withCost?: boolean;
}>;

/** The validation rules that hold an operation to GRAPHQL_LIMITS (and, in production, refuse introspection). */
export function limitRules({ variables = {}, operationName, production, withCost = true }: LimitedOperation): ValidationRule[] {
  return [
    maxDepthRule({ n: GRAPHQL_LIMITS.depth, ...reported }),
    maxAliasesRule({ n: GRAPHQL_LIMITS.aliases, ...reported }),
    ...(withCost ? [costOfChosenOperation(variables, operationName ?? undefined)] : []),
    ...(production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
}

/**
 * The cost rule, on the operation the request runs. A request that chooses none of its
 * document's operations (an unknown name; no name among several) is refused here, before the
 * execution, so over GET as over POST. An anonymous operation beside others is graphql-js's
 * own refusal (LoneAnonymousOperation), and graphql-query-complexity cannot cost it.
 */
function costOfChosenOperation(variables: Record<string, unknown>, operationName: string | undefined): ValidationRule {
  return (context) => {
    const document = context.getDocument();
    const operations = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    if (!getOperationAST(document, operationName)) {
      const why = operationName !== undefined ? `Unknown operation named "${operationName}".` : operations.length ? 'Must provide operation name if query contains multiple operations.' : 'Must provide an operation.';
      context.reportError(new GraphQLError(why));
      return {};
    }
    if (operations.length > 1 && operations.some((operation) => !operation.name)) return {};
    return createComplexityRule({
      maximumComplexity: GRAPHQL_LIMITS.cost,
      variables,
      ...(operationName !== undefined ? { operationName } : {}),
      estimators: [listsCostTheirLimit, bucketsCostTheirCount, simpleEstimator({ defaultComplexity: 1 })],
      createError: (max, actual) => new GraphQLError(`Query cost ${actual} is over the limit of ${max}: ask for fewer fields or smaller pages.`),
    })(context);
  };
}
