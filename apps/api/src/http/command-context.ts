import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  BusinessRuleViolation,
  systemClock,
  uuidV7Ids,
  WrongExpectedVersion,
  type Command,
  type CommandMetadata,
  type CommandOptions,
  type CommandResult,
  type Decider,
  type HandleCommand,
  type Message,
} from '@tidings/core';
import { COMMANDS } from '@tidings/platform';
import type { Principal } from '../auth/tokens';
import { Metrics } from '../operations/metrics';
import type { IdempotentRequest } from './idempotency';

/** The one command path of the API process (STYLE 4), shared by REST and GraphQL, counted by outcome. */
@Injectable()
export class Commands {
  constructor(
    @Inject(COMMANDS) private readonly handle: HandleCommand,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  async run<State, C extends Command, E extends Message>(
    decider: Decider<State, C, E>,
    streamId: string,
    command: C,
    options: CommandOptions = {},
  ): Promise<CommandResult<State, E>> {
    try {
      const result = await this.handle(decider, streamId, command, options);
      this.metrics.commands.inc({ command: command.type, outcome: 'accepted' });
      return result;
    } catch (error) {
      const outcome = error instanceof BusinessRuleViolation ? 'rejected' : error instanceof WrongExpectedVersion ? 'conflict' : 'failed';
      this.metrics.commands.inc({ command: command.type, outcome });
      throw error;
    }
  }

  /**
   * Ids, time and actor of a command, with the request's correlation id (which travels on in
   * event metadata). Under an Idempotency-Key the command id and time are those of the request
   * that claimed the key, so a retry of a request cut off by a crash is recognised by the command
   * path, and decides what it decided (a view without a time of its own is dated alike).
   * `part` names one of several commands a request carries (a GraphQL mutation's field in the
   * answer): under a key, each has an id of its own, derived from the key's.
   */
  metadata(request: FastifyRequest & IdempotentRequest, caller: Principal | undefined, part?: string): CommandMetadata {
    const claimed = request.idempotency?.commandId;
    return {
      commandId: claimed === undefined ? uuidV7Ids.next() : part === undefined ? claimed : nameBasedUuid(`${claimed}/${part}`),
      correlationId: String(request.id),
      actor: caller?.userId ?? 'anonymous',
      now: request.idempotency?.receivedAt ?? systemClock.now(),
    };
  }
}

/** Commands answer their position in the body and in `X-Position` (API.md). */
export const withPosition = <Body extends object>(reply: FastifyReply, position: bigint | undefined, body: Body): Body & { position: string | null } => {
  if (position !== undefined) void reply.header('x-position', position.toString());
  return { ...body, position: position?.toString() ?? null };
};

/** A UUID (version 8, name-based) from a SHA-256 of `name`: the same name, the same id. */
export function nameBasedUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
