import { Global, Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import type { NatsConnection } from 'nats';
import { createCommandHandler, uuidV7Ids, type EventStore } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import { connectNats, eventTopology, reportConnectionChanges } from '@tidings/messaging';
import type { Settings } from '@tidings/settings';

export const SETTINGS = Symbol('Settings');
export const EVENT_STORE = Symbol('EventStore');
export const NATS = Symbol('NatsConnection');
export const DATABASE = Symbol('Pool');
export const TOPOLOGY = Symbol('EventTopology');
/** The application's one command handler (HandleCommand): one fold cache, and one queue per stream, for every role it runs. */
export const COMMANDS = Symbol('HandleCommand');

/** Closes what the platform opened, after every role has stopped (Nest shuts providers down in reverse). */
@Injectable()
class PlatformShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATABASE) private readonly pool: Pool,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.nats.drain().catch(() => undefined);
    await this.store.close();
    await this.pool.end();
  }
}

/**
 * What the roles of one Nest application share, opened once however many roles it runs (one
 * per thread of `tidings start`, or one for all of them with TIDINGS_THREADS=single): the
 * settings, the event store, one NATS connection, one PostgreSQL pool for read models, and one
 * command handler, so a stream one role wrote is folded already when another decides on it.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(settings: Settings, processName: string): DynamicModule {
    return {
      module: PlatformModule,
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: TOPOLOGY, useValue: eventTopology(settings.namespace, settings.partitions) },
        { provide: EVENT_STORE, useFactory: () => openEventStore(settings) },
        { provide: COMMANDS, useFactory: (store: EventStore) => createCommandHandler({ store, ids: uuidV7Ids }), inject: [EVENT_STORE] },
        {
          provide: NATS,
          useFactory: async () => {
            const nats = await connectNats(settings, processName);
            const logger = new Logger('nats');
            reportConnectionChanges(nats, logger).catch((error: unknown) => logger.warn(`NATS connection changes are no longer reported: ${(error as Error).message}`));
            return nats;
          },
        },
        {
          provide: DATABASE,
          useFactory: () => {
            const pool = new Pool({
              connectionString: settings.databaseUrl,
              max: settings.databasePoolSize,
              application_name: processName,
              // Statements a transaction sends together go out at once (see pipelined in read-models), not one round trip each.
              pipeline: true,
              // No transaction here waits on anything but the database between its statements for long: one that does
              // belongs to a process frozen mid-batch (SIGSTOP, a stalled VM), holding its partition's lease. PostgreSQL
              // ends it after twice the lease TTL, and the partition moves to another member (a killed member's, after one).
              idle_in_transaction_session_timeout: 2 * settings.leaseTtlMs,
            });
            // A dropped idle connection is replaced on the next query; it must not end the process.
            pool.on('error', () => undefined);
            return pool;
          },
        },
        PlatformShutdown,
      ],
      exports: [SETTINGS, TOPOLOGY, EVENT_STORE, COMMANDS, NATS, DATABASE],
    };
  }
}

