import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromStatus, internalProblem, problemOf } from './problem';

const logger = new Logger('api');

/** Answers any error as problem+json; bad input never becomes a 500. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const known = problemOf(error);
  if (!known) logger.error(`${request.method} ${request.url} failed (${request.id}): ${(error as Error)?.stack ?? String(error)}`);
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
