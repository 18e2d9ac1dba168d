import { Controller, Get, Inject, Injectable, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { countCheckoutsByStatus, SAGA_STATUSES } from '@tidings/checkout';
import type { EventStore } from '@tidings/core';
import { projectionCatalog } from '@tidings/apps-projector';
import { groupBacklogsIfKnown, groupConsumerCounts, lastPublishedPosition, type EventTopology, type GroupBacklogs } from '@tidings/messaging';
import { DATABASE, EVENT_STORE, NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import { consumerGroupOf, projectionStatuses, type ProjectionStatus } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { Allow } from '../auth/access';

/** The API process's Prometheus metrics (API.md Operations); gauges are read from their sources at scrape time. */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tidings_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'tidings_commands_total',
    help: 'Commands by type and outcome (accepted, rejected, conflict, failed)',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(
    @Inject(DATABASE) pool: Pool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(NATS) nats: NatsConnection,
    @Inject(TOPOLOGY) topology: EventTopology,
    @Inject(SETTINGS) settings: Settings,
  ) {
    const catalog = projectionCatalog(settings);
    collectDefaultMetrics({ register: this.registry, prefix: 'tidings_' });
    new Gauge({
      name: 'tidings_relay_lag_events',
      help: "Positions between the store's head and the last event in JetStream",
      registers: [this.registry],
      async collect() {
        const [head, published] = await Promise.all([store.headPosition(), nats.jetstreamManager().then((jsm) => lastPublishedPosition(jsm, topology))]);
        this.set(Number(head > published ? head - published : 0n));
      },
    });
    const statuses = (backlogs?: GroupBacklogs) => projectionStatuses(pool, store, catalog, { backlogs });
    new Gauge({
      name: 'tidings_projection_lag_events',
      help: 'Events each projection has yet to apply: its JetStream backlog and what the relay has not published (positions behind head while it has no consumers)',
      labelNames: ['group'] as const,
      registers: [this.registry],
      async collect() {
        const backlogs = await groupBacklogsIfKnown(nats, topology, catalog.map(consumerGroupOf));
        for (const status of await statuses(backlogs)) this.set({ group: `projection.${status.name}` }, Number(status.lag));
      },
    });
    /** A gauge of each projection's consumer group, read from where the projections stand. */
    const perProjection = (name: string, help: string, valueOf: (status: ProjectionStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['group'] as const,
        registers: [this.registry],
        async collect() {
          for (const status of await statuses()) this.set({ group: `projection.${status.name}` }, valueOf(status));
        },
      });
    perProjection('tidings_dead_letters', 'Parked events by consumer group', (status) => status.deadLetters);
    perProjection(
      'tidings_projection_blocked_partitions',
      'Partitions stopped at an event that keeps failing, by consumer group (tidings projections status says which and why)',
      (status) => status.partitions.filter((partition) => partition.blocked).length,
    );
    new Gauge({
      name: 'tidings_sagas',
      help: 'Checkout sagas by status',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await countCheckoutsByStatus(pool);
        for (const status of ['new', ...SAGA_STATUSES]) this.set({ status }, counts[status] ?? 0);
      },
    });
    new Gauge({
      name: 'tidings_consumer_redeliveries',
      help: "Messages JetStream redelivered, by consumer group (its consumers' num_redelivered)",
      labelNames: ['group'] as const,
      registers: [this.registry],
      async collect() {
        const groups = catalog.map(consumerGroupOf);
        const counts = await groupConsumerCounts(await nats.jetstreamManager(), topology, groups);
        for (const group of groups) this.set({ group }, counts.get(group)?.redelivered ?? 0);
      },
    });
  }
}

@Controller('metrics')
@ApiTags('operations')
@Allow('public')
export class MetricsController {
  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
