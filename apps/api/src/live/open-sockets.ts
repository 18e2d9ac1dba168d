import type { FastifyRequest } from 'fastify';
import { problems, type ProblemError } from '../http/problem';

/**
 * WebSockets held open at once, per holder (a user, a client's address): each counted from its
 * upgrade until its connection closes, and an upgrade over the limit refused (429
 * `too-many-connections`) until one closes. A plain GET of a WebSocket route opens no socket and
 * counts for nothing.
 */
export class OpenSockets {
  private readonly held = new Map<string, number>();

  /** `per`: whose sockets they are, as the refusal says it (`user`, `client address`). */
  constructor(
    private readonly limit: number,
    private readonly per: string,
  ) {}

  /** Counts the request's socket as `holder`'s, or says why it may not open. */
  hold(request: FastifyRequest, holder: string): ProblemError | undefined {
    // A client gone during the checks before (its close has been and gone) holds nothing.
    if (!(request as FastifyRequest & { ws?: boolean }).ws || request.raw.socket.destroyed) return undefined;
    const held = this.held.get(holder) ?? 0;
    if (held >= this.limit) return problems.tooManyConnections(`at most ${this.limit} sockets per ${this.per}: close one first`);
    this.held.set(holder, held + 1);
    request.raw.socket.once('close', () => {
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left > 0) this.held.set(holder, left);
      else this.held.delete(holder);
    });
    return undefined;
  }
}
