import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ValidationContext, type ValidationRule } from 'graphql';
import { createComplexityRule, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

/** API.md: depth ≤ 8, cost ≤ 1000, aliases ≤ 20 — checked while validating, before any resolver runs. */
export const GRAPHQL_LIMITS = { depth: 8, cost: 1_000, aliases: 20 } as const;

/**
 * A list field costs one plus what it selects, times the items it may return (its `limit`,
 * after defaults); every other field costs one plus what it selects. So `products(limit: 100)`
 * selecting two fields of each item costs 1 + 100 × 3.
 */
const listsCostTheirLimit: ComplexityEstimator = ({ args, childComplexity }) =>
  typeof args.limit === 'number' ? 1 + Math.max(args.limit, 0) * childComplexity : undefined;

/** graphql-armor throws its first refusal; reported instead, it joins the others (and loses armor's "Syntax Error:" prefix). */
const reported = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')))],
};

export type LimitedOperation = Readonly<{
  variables?: Record<string, unknown>;
  operationName?: string;
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
    ...(withCost
      ? [
          forNamedOperation(
            operationName,
            createComplexityRule({
              maximumComplexity: GRAPHQL_LIMITS.cost,
              variables,
              ...(operationName ? { operationName } : {}),
              estimators: [listsCostTheirLimit, simpleEstimator({ defaultComplexity: 1 })],
              createError: (max, actual) => new GraphQLError(`Query cost ${actual} is over the limit of ${max}: ask for fewer fields or smaller pages.`),
            }),
          ),
        ]
      : []),
    ...(production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
}

/**
 * A rule that costs the operation `operationName` names, run only when the document has it:
 * graphql-query-complexity fails on an unnamed operation when asked for a name, and the
 * execution refuses an unknown name before any resolver runs.
 */
function forNamedOperation(operationName: string | undefined, rule: ValidationRule): ValidationRule {
  return (context) => {
    const named = context.getDocument().definitions.some((definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === operationName);
    return operationName === undefined || named ? rule(context) : {};
  };
}
