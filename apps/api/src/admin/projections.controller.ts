import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Injectable, Logger, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { projectionCatalog } from '@tidings/apps-projector';
import type { NatsConnection } from 'nats';
import { groupBacklogsIfKnown, publishNotification, type EventTopology } from '@tidings/messaging';
import { DATABASE, EVENT_STORE, NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import { consumerGroupOf, describeRebuildFailure, projectionStatuses, rebuildProjection, RebuildAlreadyRunning, type Projection, type ProjectionStatus } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { Allow } from '../auth/access';
import { noBody, parseInput } from '../http/parse-input';
import { problems } from '../http/problem';
import { minPositionOf, positionParam } from '../http/read-models';

type Sample = Readonly<{ position: bigint; at: number }>;
/** Rebuild progress is pushed at most this often. */
const PROGRESS_EVERY_MS = 250;

/** Read models for operators (API.md): where each stands, and blue/green rebuilds; for REST and GraphQL. */
@Injectable()
export class ProjectionAdmin {
  private readonly logger = new Logger('projections');
  private readonly rebuilding = new Map<string, string>();
  /** The previous answer's positions: events per second is the progress since then. */
  private readonly samples = new Map<string, Sample>();
  private readonly catalog: readonly Projection[];

  constructor(
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
  ) {
    this.catalog = projectionCatalog(settings);
  }

  async list() {
    const backlogs = await groupBacklogsIfKnown(this.nats, this.topology, this.catalog.map(consumerGroupOf));
    const statuses = await projectionStatuses(this.pool, this.store, this.catalog, { backlogs, partitions: this.settings.partitions });
    return statuses.map((status) => this.describe(status));
  }

  rebuild(name: string) {
    const projection = this.catalog.find((candidate) => candidate.name === name);
    if (!projection) throw problems.notFound(`no projection "${name}"; known: ${this.catalog.map((known) => known.name).join(', ')}`);
    if (this.rebuilding.has(name)) throw problems.conflict('rebuild-running', `projection ${name} is being rebuilt (${this.rebuilding.get(name)})`);
    const rebuildId = randomUUID();
    this.rebuilding.set(name, rebuildId);
    const channel = `projection:${name}`;
    const notify = (type: string, data: Record<string, unknown>) => publishNotification(this.nats, this.topology, { channel, type, data: { rebuildId, ...data } });
    let lastProgress = 0;
    // Runs on after the answer, its progress pushed to `projection:<name>`; another process's rebuild of the same projection is refused by its lock.
    void rebuildProjection({
      pool: this.pool,
      databaseUrl: this.settings.databaseUrl,
      store: this.store,
      projection,
      partitions: this.settings.partitions,
      onProgress: ({ position, head, events }) => {
        if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = Date.now();
        notify('progress', { position: position.toString(), head: head.toString(), events });
      },
    })
      .then(
        (report) => {
          notify('completed', { version: report.version, position: report.position.toString(), events: report.events, seconds: report.seconds });
          this.logger.log(`rebuild ${rebuildId}: ${name} is at version ${report.version} (${report.events} events in ${report.seconds.toFixed(1)} s)`);
        },
        (error: unknown) => {
          const reason = error instanceof RebuildAlreadyRunning ? 'another rebuild is running' : (error as Error).message;
          notify('failed', { reason });
          this.logger.warn(`rebuild ${rebuildId} of ${name} failed: ${reason}`);
        },
      )
      .finally(() => this.rebuilding.delete(name));
    return { rebuildId };
  }

  private describe(status: ProjectionStatus) {
    const now = Date.now();
    const previous = this.samples.get(status.name);
    this.samples.set(status.name, { position: status.position, at: now });
    // Positions are nearly contiguous in the PostgreSQL store: their progress approximates events.
    const eventsPerSecond = previous && now > previous.at ? Number(status.position - previous.position) / ((now - previous.at) / 1000) : 0;
    const blocked = status.partitions.find((partition) => partition.blocked)?.blocked;
    return {
      name: status.name,
      version: status.version ?? null,
      status: status.status,
      position: status.position.toString(),
      headPosition: status.head.toString(),
      lag: status.lag.toString(),
      eventsPerSecond: Math.max(0, Math.round(eventsPerSecond)),
      lastError: blocked ? `${blocked.error} (position ${blocked.position})` : status.lastRebuildFailure ? describeRebuildFailure(status.lastRebuildFailure) : null,
      deadLetters: status.deadLetters,
    };
  }
}

@Controller('admin/projections')
@ApiTags('admin')
@ApiBearerAuth()
@Allow('admin')
export class ProjectionsController {
  constructor(@Inject(ProjectionAdmin) private readonly projections: ProjectionAdmin) {}

  @Get()
  @ApiQuery({ name: 'minPosition', required: false, description: 'checked, and met at once: the answer is where each projection stands now' })
  list(@Query() query: unknown) {
    positionParam(minPositionOf(query));
    return this.projections.list();
  }

  @Post(':name/rebuild')
  @HttpCode(202)
  rebuild(@Param('name') name: string, @Body() body: unknown) {
    parseInput(noBody, body, 'body');
    return this.projections.rebuild(name);
  }
}
