import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromStatus, internalProblem, problemOf, problemType } from './problem';

const logger = new Logger('api');

/** How often requests answered 503 for a dependency that cannot be reached are told at warn: once, not once per request. */
const DEPENDENCY_DOWN_EVERY_MS = 10_000;
const dependencyDown: { saidAt: number; answered: number; latest: string; telling?: NodeJS.Timeout } = { saidAt: 0, answered: 0, latest: '' };

/**
 * What needs an operator (README: a dependency away is a warn): how many requests met it since
 * the last line, and the latest of them. Said at once after a quiet spell, then at most every
 * 10 s; what the last window counted is said when it ends, even if no request comes after.
 */
function warnDependencyDown(request: FastifyRequest, error: unknown): void {
  dependencyDown.answered++;
  dependencyDown.latest = `${request.method} ${request.url} (${request.id}) met ${(error as Error)?.message ?? String(error)}`;
  dependencyDown.telling ??= setTimeout(() => {
    logger.warn(`a dependency cannot be reached: ${dependencyDown.answered} request(s) answered 503 since the last such line; the latest, ${dependencyDown.latest}`);
    Object.assign(dependencyDown, { saidAt: Date.now(), answered: 0, telling: undefined });
  }, Math.max(0, dependencyDown.saidAt + DEPENDENCY_DOWN_EVERY_MS - Date.now())).unref();
}

/** Answers any error as problem+json; bad input never becomes a 500. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const known = problemOf(error);
  if (!known) logger.error(`${request.method} ${request.url} failed (${request.id}): ${(error as Error)?.stack ?? String(error)}`);
  else if (known.problem.type === problemType('dependency-unavailable')) warnDependencyDown(request, error);
  const problem = known?.problem ?? internalProblem();
  void reply
    .status(problem.status)
    .headers(known?.headers ?? {})
    .type('application/problem+json')
    .send(problem);
}

/** Every error of a request, whether a route threw it or Fastify refused the request before one ran (413, bad JSON). */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), error);
  }
}

/**
 * What Node's HTTP parser refuses before there is a request to answer (request line and headers
 * over 16 KiB, a request that is not HTTP, one that did not arrive in time), answered as
 * problem+json on the socket, which is then closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A connection reset has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'the request line and headers are over 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request did not arrive in time']
        : [400, 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify(fromStatus(status, detail).problem);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
