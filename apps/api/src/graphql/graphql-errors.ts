import { GraphQLError, parse, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import mercurius, { type MercuriusContext } from 'mercurius';
import { internalProblem, problemOf, problemType, type Problem } from '../http/problem';

/**
 * The answer to a GraphQL request that has errors (mercurius's `errorFormatter`). Refusals keep
 * their problem type and status, as extensions of the GraphQL error. A document graphql-js
 * refused before any resolver ran (syntax, validation, limits, arguments, which operation) is a
 * 400 invalid-query (405 stays 405), each of its errors saying so. Any other failure is logged
 * (`logFailure`) and answered as REST answers one: an internal error, its words kept from the caller.
 */
export const graphqlAnswers = (logFailure: (line: string) => void) => (execution: ExecutionResult & Required<Pick<ExecutionResult, 'errors'>>, context: MercuriusContext) => {
  const formatted = mercurius.defaultErrorFormatter(execution, context);
  let refused = false;
  /** A refusal of the whole request before anything ran (a rate limit, say): its status is the answer's, as on REST. */
  let requestRefusedWith: number | undefined;
  const errors = execution.errors.flatMap((error: GraphQLError): GraphQLFormattedError[] => {
    // A refused document may arrive as one error holding the validation errors; each is reported.
    const refusals = (error.originalError as { errors?: GraphQLError[] } | undefined)?.errors;
    if (Array.isArray(refusals)) {
      refused = true;
      return refusals.map(invalidQuery);
    }
    const problem = problemOf(error.originalError ?? error)?.problem;
    if (problem && error.path === undefined && (execution.data === null || execution.data === undefined)) requestRefusedWith ??= problem.status;
    if (problem) return [{ ...error.toJSON(), message: problem.detail, extensions: problemExtensions(problem) }];
    // graphql-js's own refusals have no path in the answer (a resolver's error has) and nothing beneath but graphql-js's own errors (a hook's failure has another).
    if (error.path !== undefined || (error.originalError !== undefined && !(error.originalError instanceof GraphQLError))) return [internalError(error, context, logFailure)];
    refused = true;
    return [invalidQuery(error)];
  });
  const refusedWith = formatted.statusCode >= 400 && formatted.statusCode < 500 ? formatted.statusCode : 400;
  return { statusCode: refused ? refusedWith : (requestRefusedWith ?? formatted.statusCode), response: { ...formatted.response, errors } };
};

/**
 * Only GraphQL text is a query. mercurius reads a source that does not parse as GraphQL as a
 * JSON-encoded document, which nothing checks before graphql-js runs it (`"123"` failed inside
 * it, answered 200); no JSON value is GraphQL, so such a source gets its syntax error.
 */
export function graphqlTextOnly(source: string): void {
  try {
    JSON.parse(source);
  } catch {
    return;
  }
  try {
    parse(source);
  } catch (syntaxError) {
    throw new GraphQLError((syntaxError as Error).message);
  }
}

/** A failure that is no refusal, logged with the request's correlation id (a subscription's event has its upgrade request, and no reply). */
function internalError(error: GraphQLError, context: MercuriusContext, logFailure: (line: string) => void): GraphQLFormattedError {
  const cause = error.originalError ?? error;
  const { reply, request } = context as Partial<Pick<MercuriusContext, 'reply'>> & { request?: { id?: string } };
  logFailure(`${error.path?.join('.') ?? 'the operation'} failed (${(reply?.request ?? request)?.id ?? 'no request id'}): ${cause.stack ?? cause.message}`);
  const problem = internalProblem();
  return { message: problem.detail, ...(error.locations ? { locations: error.locations } : {}), ...(error.path ? { path: error.path } : {}), extensions: problemExtensions(problem) };
}

const invalidQuery = (error: GraphQLError): GraphQLFormattedError => ({
  message: error.message,
  ...(error.locations ? { locations: error.locations } : {}),
  extensions: { type: problemType('invalid-query'), title: 'Invalid query', status: 400 },
});

/** A refusal's problem as a GraphQL error's extensions: what REST answers in its body, but the detail, which is the error's message. */
export const problemExtensions = ({ type, title, status, errors }: Problem) => ({ type, title, status, ...(errors ? { errors } : {}) });
