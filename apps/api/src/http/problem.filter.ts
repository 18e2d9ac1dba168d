import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { internalProblem, problemOf } from './problem';

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
