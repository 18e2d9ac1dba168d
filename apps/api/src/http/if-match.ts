import type { FastifyReply } from 'fastify';
import { problems } from './problem';

/** Answers an aggregate's version (of a read or of a command's result) as its ETag (API.md), what `If-Match` gives back; returns the result. */
export function withVersion<Result extends Readonly<{ version: number }>>(reply: FastifyReply, result: Result): Result {
  void reply.header('etag', `"${result.version}"`);
  return result;
}

/**
 * `If-Match: "<version>"` (an ETag the API gave) as the version a command expects; absent → no
 * check. `*` (RFC 9110: any current version) checks no version either: a command on an aggregate
 * that does not exist is refused by the command itself.
 */
export function expectedVersionOf(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  const version = /^(?:W\/)?"(-1|\d{1,9})"$/.exec(ifMatch.trim())?.[1];
  if (version === undefined) throw problems.invalid('If-Match must be an ETag this API returned, such as "3"', [{ path: 'headers.if-match', message: 'expected "<version>"' }]);
  return Number(version);
}
