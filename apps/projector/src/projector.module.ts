import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import { ConsumerRuntime, publishNotification, uniqueMemberName, type EventTopology } from '@tidings/messaging';
import { DATABASE, NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import { ensureProjection, ProjectionConsumer } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { projectionCatalog } from './projection-catalog';
import { ViewsCompaction } from './views-compaction';

/** Runs every projection of the catalog as a consumer group, on the partitions this process leases. */
@Injectable()
export class ProjectorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('projector');
  private readonly member = uniqueMemberName();
  private runtimes: ConsumerRuntime[] = [];

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const warn = (line: string) => this.logger.warn(line);
    const alert = (line: string) => this.logger.error(line);
    const catalog = projectionCatalog(this.settings, { notify: (notification) => publishNotification(this.nats, this.topology, notification) });
    for (const projection of catalog) await ensureProjection(this.pool, projection);
    this.runtimes = catalog.map(
      (projection) =>
        new ConsumerRuntime({
          nats: this.nats,
          pool: this.pool,
          topology: this.topology,
          group: new ProjectionConsumer(this.pool, projection, { log: warn, alert }),
          member: this.member,
          leaseTtlMs: this.settings.leaseTtlMs,
          ...(projection.batching ? { batching: projection.batching } : {}),
          warn,
        }),
    );
    for (const runtime of this.runtimes) runtime.start();
    this.logger.log(`running ${catalog.map((projection) => projection.name).join(', ')} as ${this.member}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.runtimes.map((runtime) => runtime.stop()));
  }
}

@Module({ providers: [ProjectorService, ViewsCompaction] })
export class ProjectorModule {}
