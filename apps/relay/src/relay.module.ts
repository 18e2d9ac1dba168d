import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import type { EventStore } from '@tidings/core';
import { Relay, type EventTopology } from '@tidings/messaging';
import { EVENT_STORE, SETTINGS, TOPOLOGY } from '@tidings/platform';
import type { Settings } from '@tidings/settings';

/** Runs the relay (ARCHITECTURE §4) for the life of the process: active, or standby behind another. */
@Injectable()
export class RelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('relay');
  private readonly relay: Relay;

  constructor(
    @Inject(SETTINGS) settings: Settings,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(TOPOLOGY) topology: EventTopology,
  ) {
    this.relay = new Relay({ store, nats: settings, databaseUrl: settings.databaseUrl, topology, log: (line) => this.logger.log(line), warn: (line) => this.logger.warn(line) });
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

@Module({ providers: [RelayService] })
export class RelayModule {}
