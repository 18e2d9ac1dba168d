import type { FastifyReply } from 'fastify';
import { problems } from './problem';

/** An aggregate's version as its ETag (API.md), what `If-Match` gives back. */
export const sendVersion = (reply: FastifyReply, version: number): void => void reply.header('etag', `"${version}"`);

/** `If-Match: "<version>"` (an ETag the API gave) as the version a command expects; absent → no check. */
export function expectedVersionOf(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const version = /^(?:W\/)?"(-1|\d{1,9})"$/.exec(ifMatch.trim())?.[1];
  if (version === undefined) throw problems.invalid('If-Match must be an ETag this API returned, such as "3"', [{ path: 'headers.if-match', message: 'expected "<version>"' }]);
  return Number(version);
}
