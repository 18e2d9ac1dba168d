import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { z } from 'zod';
import { projectionCatalog } from '@tidings/apps-projector';
import { DATABASE, SETTINGS } from '@tidings/platform';
import { consumerGroupOf, DeadLetterNotFound, DeadLetterOutOfOrder, deadLettersOf, dropDeadLetter, replayDeadLetter, UnknownConsumerGroup, type Projection } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { Allow } from '../auth/access';
import { parseInput } from '../http/parse-input';
import { problems } from '../http/problem';
import { positionParam } from '../http/read-models';

const listQuery = z.strictObject({ group: z.string().max(200).optional(), minPosition: z.string().optional() });

/** Parked events (API.md): list, replay once, or drop. */
@Controller('admin/dead-letters')
@ApiTags('admin')
@ApiBearerAuth()
@Allow('admin')
export class DeadLettersController {
  private readonly catalog: readonly Projection[];

  constructor(
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(SETTINGS) settings: Settings,
  ) {
    this.catalog = projectionCatalog(settings);
  }

  @Get()
  async list(@Query() query: unknown) {
    const { group, minPosition } = parseInput(listQuery, query, 'query');
    // Checked, and met at once: the list is where the dead letters stand now.
    positionParam(minPosition);
    const letters = await deadLettersOf(this.pool, group, this.catalog.map(consumerGroupOf)).catch((error: unknown) => {
      throw answered(error);
    });
    return letters.map((letter) => ({
      id: letter.id,
      group: letter.group,
      position: letter.position.toString(),
      streamId: letter.streamId,
      eventType: letter.type,
      error: letter.error,
      attempts: letter.attempts,
      parkedAt: letter.parkedAt.toISOString(),
    }));
  }

  @Post(':id/replay')
  @HttpCode(202)
  async replay(@Param('id') id: string) {
    try {
      const applied = await replayDeadLetter(this.pool, id, (group) => {
        const projection = this.catalog.find((candidate) => consumerGroupOf(candidate) === group);
        if (!projection) throw problems.conflict('unknown-consumer-group', `no projection of this build consumes as ${group}: deploy it, or drop the dead letter`);
        return projection;
      });
      return { applied };
    } catch (error) {
      throw answered(error);
    }
  }

  @Delete(':id')
  @HttpCode(204)
  async drop(@Param('id') id: string): Promise<void> {
    try {
      await dropDeadLetter(this.pool, id);
    } catch (error) {
      throw answered(error);
    }
  }
}

const answered = (error: unknown): unknown => {
  if (error instanceof DeadLetterNotFound || error instanceof UnknownConsumerGroup) return problems.notFound(error.message);
  if (error instanceof DeadLetterOutOfOrder) return problems.conflict('dead-letter-out-of-order', error.message);
  return error;
};
