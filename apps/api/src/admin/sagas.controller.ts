import { Body, Controller, Get, Headers, HttpCode, Inject, Injectable, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { z } from 'zod';
import {
  CHECKOUT_TRIGGER,
  compensateCheckout,
  findCheckout,
  listCheckouts,
  nudgeCheckouts,
  orderIdOfCheckout,
  retryCheckout,
  SAGA_STATUSES,
  versionedCheckoutWithHistory,
} from '@tidings/checkout';
import type { CommandMetadata, EventStore, RunCommand } from '@tidings/core';
import { DATABASE, EVENT_STORE } from '@tidings/platform';
import { Allow, Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { expectedVersionOf, withVersion } from '../http/if-match';
import { BodyOf } from '../http/openapi';
import { listPages } from '../http/pages';
import { parseInput, storableText } from '../http/parse-input';
import { problems } from '../http/problem';
import { minPositionOf, positionParam, ReadModels } from '../http/read-models';

const SAGA_ID = z
  .string()
  .regex(/^checkout-[0-9a-f-]{36}$/i, 'a saga id is checkout-<orderId>')
  .transform((id) => id.toLowerCase());
const sagaPages = listPages('sagas');
const sagasQuery = sagaPages.query.extend({ status: z.enum(SAGA_STATUSES).optional() });
export const compensateBody = z.strictObject({ reason: storableText(500) });
export const retryBody = z.strictObject({ reason: storableText(500).optional() });

/** Saga administration (API.md), shared by REST and GraphQL: every action is recorded in the saga's history with its actor and reason. */
@Injectable()
export class SagaAdmin {
  /** The API's command path: admin actions are counted with every other command. */
  private readonly run: RunCommand;

  constructor(
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Commands) commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
  ) {
    this.run = commands.run.bind(commands);
  }

  async list(query: unknown) {
    const { limit, cursor, status, minPosition } = parseInput(sagasQuery, query, 'query');
    // The list's rows are the trigger's: a saga is listed once its order's placement has been taken in.
    await this.readModels.awaitPosition(CHECKOUT_TRIGGER, minPosition);
    const page = await listCheckouts(this.pool, { limit, ...(status ? { status } : {}), ...(cursor !== undefined ? { after: cursor } : {}) });
    return sagaPages.of(page.items, page.last);
  }

  /** The saga as GraphQL shows it: with its version, what a retry or compensation may expect. */
  async show(sagaId: string, minPosition?: unknown) {
    const { saga, version } = await this.versioned(sagaId, minPosition);
    return { ...saga, version };
  }

  /** The saga with its stream's version (its ETag). `minPosition` is checked and met at once: the history is read from the event store. */
  async versioned(sagaId: string, minPosition?: unknown) {
    positionParam(minPosition);
    const found = await versionedCheckoutWithHistory(this.pool, this.store, parseInput(SAGA_ID, sagaId, 'params'));
    if (!found) throw problems.notFound(`no saga ${sagaId}`);
    return found;
  }

  /** `expectedVersion` (If-Match): only while the saga's stream is still at it, else 409 and nothing recorded. */
  async retry(sagaId: string, input: unknown, metadata: CommandMetadata, expectedVersion?: number) {
    const { reason } = parseInput(retryBody, input ?? {}, 'body');
    const orderId = await this.existing(sagaId);
    const { position, version } = await retryCheckout(this.run, orderId, reason ?? 'retried by an operator', metadata, { expectedVersion });
    await nudgeCheckouts(this.pool, [orderId]);
    return { sagaId, status: 'retrying', position, version };
  }

  /** `expectedVersion` (If-Match): only while the saga's stream is still at it, else 409 and nothing recorded. */
  async compensate(sagaId: string, input: unknown, metadata: CommandMetadata, expectedVersion?: number) {
    const { reason } = parseInput(compensateBody, input, 'body');
    const orderId = await this.existing(sagaId);
    const { position, version } = await compensateCheckout(this.run, orderId, reason, metadata, { expectedVersion });
    await nudgeCheckouts(this.pool, [orderId]);
    return { sagaId, status: 'compensating', position, version };
  }

  private async existing(sagaId: string): Promise<string> {
    const saga = await findCheckout(this.pool, parseInput(SAGA_ID, sagaId, 'params'));
    if (!saga) throw problems.notFound(`no saga ${sagaId}`);
    return orderIdOfCheckout(saga.sagaId);
  }
}

@Controller('admin/sagas')
@ApiTags('admin')
@ApiBearerAuth()
@Allow('admin')
export class SagasController {
  constructor(
    @Inject(SagaAdmin) private readonly sagas: SagaAdmin,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Get()
  @ApiQuery({ name: 'status', required: false, enum: SAGA_STATUSES })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the sagas of orders placed up to this position are listed' })
  list(@Query() query: unknown) {
    return this.sagas.list(query);
  }

  @Get(':id')
  @ApiQuery({ name: 'minPosition', required: false, description: 'met at once: the history is read from the event store' })
  async show(@Param('id') sagaId: string, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return withVersion(reply, await this.sagas.versioned(sagaId, minPositionOf(query))).saga;
  }

  @Post(':id/retry')
  @HttpCode(202)
  @BodyOf(retryBody)
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the saga version this retry expects' })
  async retry(
    @Param('id') sagaId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return answered(reply, await this.sagas.retry(sagaId, body, this.commands.metadata(request, caller), expectedVersionOf(ifMatch)));
  }

  @Post(':id/compensate')
  @HttpCode(202)
  @BodyOf(compensateBody)
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the saga version this compensation expects' })
  async compensate(
    @Param('id') sagaId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return answered(reply, await this.sagas.compensate(sagaId, body, this.commands.metadata(request, caller), expectedVersionOf(ifMatch)));
  }
}

/** An operator's action answers where its record is, and the saga's version after it as its ETag. */
function answered(reply: FastifyReply, result: Readonly<{ sagaId: string; status: string; position: bigint | undefined; version: number }>) {
  const { sagaId, status, position } = withVersion(reply, result);
  return withPosition(reply, position, { sagaId, status });
}
