import { HttpException } from '@nestjs/common';
import { BusinessRuleViolation, EventIdConflict, EventsTooLarge, WrongExpectedVersion } from '@tidings/core';
import { isUndefinedTable } from '@tidings/read-models';
import { isDependencyDown } from './dependency-down';

/** RFC 9457 problem details, as every error of the API is answered (API.md). */
export type Problem = Readonly<{
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: readonly Readonly<{ path: string; message: string }>[];
}>;

/** The `type` of a problem, from its slug. */
export const problemType = (slug: string) => `https://tidings.dev/problems/${slug}`;

/** An error the API answers as it is, with optional headers (`Retry-After`). */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly problem: Problem,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(problem.detail);
  }
}

const problemError = (status: number, slug: string, title: string, detail: string, extra: Partial<Problem> = {}, headers = {}) =>
  new ProblemError({ type: problemType(slug), title, status, detail, ...extra }, headers);

export const problems = {
  invalid: (detail: string, errors?: Problem['errors']) => problemError(400, 'invalid-request', 'Invalid request', detail, errors ? { errors } : {}),
  unauthorized: (detail: string) => problemError(401, 'unauthorized', 'Unauthorized', detail, {}, { 'www-authenticate': 'Bearer' }),
  forbidden: (detail: string) => problemError(403, 'forbidden', 'Forbidden', detail),
  notFound: (detail: string) => problemError(404, 'not-found', 'Not found', detail),
  unsupportedMediaType: (detail: string) => problemError(415, 'unsupported-media-type', 'Unsupported media type', detail),
  conflict: (slug: string, detail: string) => problemError(409, slug, 'Conflict', detail),
  unprocessable: (slug: string, detail: string) => problemError(422, slug, 'Unprocessable request', detail),
  rateLimited: (retryAfterSeconds: number) =>
    problemError(429, 'rate-limited', 'Too many requests', `try again in ${retryAfterSeconds} s`, {}, { 'retry-after': String(retryAfterSeconds) }),
  tooManySubscriptions: (detail: string) => problemError(429, 'too-many-subscriptions', 'Too many subscriptions', detail),
  tooManyConnections: (detail: string) => problemError(429, 'too-many-connections', 'Too many connections', detail),
  readModelLagging: (detail: string) => problemError(503, 'read-model-lagging', 'Read model lagging', detail, {}, { 'retry-after': '1' }),
  unavailable: (detail: string) => problemError(503, 'dependency-unavailable', 'Service unavailable', detail, {}, { 'retry-after': '1' }),
};

/** Business rules whose answer is not 422: a missing aggregate is 404, an existing one 409, input no rule can accept 400, a file over its limit 413. */
const RULE_STATUS: Readonly<Record<string, 400 | 404 | 409 | 413>> = {
  'invalid-views': 400,
  'invalid-view-range': 400,
  'product-not-found': 404,
  'product-already-registered': 409,
  'order-not-found': 404,
  'order-already-placed': 409,
  'order-already-confirmed': 409,
  'checkout-confirmed': 409,
  'nothing-to-retry': 409,
  'nothing-to-compensate': 409,
  'checkout-not-started': 409,
  'post-not-found': 404,
  'post-already-published': 409,
  'invalid-import-file': 400,
  'import-file-too-large': 413,
  'import-not-found': 404,
  'import-already-started': 409,
};

const FASTIFY_STATUS_SLUGS: Readonly<Record<number, string>> = {
  400: 'invalid-request',
  404: 'not-found',
  405: 'method-not-allowed',
  408: 'request-timeout',
  413: 'payload-too-large',
  414: 'uri-too-long',
  415: 'unsupported-media-type',
  431: 'request-header-fields-too-large',
};

/** How any error is answered; undefined for a failure of ours (a 500, logged). */
export function problemOf(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof BusinessRuleViolation) {
    const status = RULE_STATUS[error.code];
    if (status === 400) return problemError(400, error.code, 'Bad request', error.message);
    if (status === 404) return problemError(404, error.code, 'Not found', error.message);
    if (status === 409) return problemError(409, error.code, 'Conflict', error.message);
    if (status === 413) return problemError(413, error.code, 'Payload too large', error.message);
    return problems.unprocessable(error.code, error.message);
  }
  if (error instanceof WrongExpectedVersion) return problems.conflict('wrong-expected-version', error.message);
  // A read model's table that does not exist yet: no projector has started on this database.
  if (isUndefinedTable(error)) return problems.readModelLagging('the read models are not created yet: start a projector (TIDINGS_ROLES with projector)');
  if (error instanceof EventIdConflict) return problems.conflict('event-id-conflict', error.message);
  if (error instanceof EventsTooLarge) return problemError(413, 'events-too-large', 'Payload too large', error.message);
  if (error instanceof HttpException) return fromStatus(error.getStatus(), error.message);
  if (isDependencyDown(error)) return problems.unavailable('a dependency (PostgreSQL, the event store or NATS) cannot be reached; try again shortly');
  // Fastify's own refusals (body too large, malformed JSON, media type) carry a 4xx statusCode.
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return fromStatus(status, (error as Error).message);
  return undefined;
}

export const fromStatus = (status: number, detail: string): ProblemError => {
  if (status === 401) return problems.unauthorized(detail);
  if (status === 403) return problems.forbidden(detail);
  const slug = FASTIFY_STATUS_SLUGS[status] ?? 'client-error';
  return problemError(status, slug, slug.replace(/-/g, ' ').replace(/^./, (first) => first.toUpperCase()), detail);
};

export const internalProblem = (): Problem => ({
  type: problemType('internal'),
  title: 'Internal error',
  status: 500,
  detail: 'the request failed on our side; it has been logged',
});
