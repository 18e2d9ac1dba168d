import type { EventStore } from '@tidings/core';
import { openEventStoreDb } from './eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';

export type EventStoreKind = 'postgres' | 'eventstoredb';

export type EventStoreSettings = Readonly<{
  kind: EventStoreKind;
  databaseUrl: string;
  eventStoreUrl?: string;
}>;

/** The adapter that `EVENT_STORE` selects (ARCHITECTURE §3). */
export function openEventStore(settings: EventStoreSettings): EventStore {
  switch (settings.kind) {
    case 'postgres':
      return new PostgresEventStore({ connectionString: settings.databaseUrl });
    case 'eventstoredb':
      if (!settings.eventStoreUrl) throw new Error('EVENT_STORE=eventstoredb needs EVENTSTORE_URL');
      return openEventStoreDb(settings.eventStoreUrl);
    default: {
      const unknown: never = settings.kind;
      throw new Error(`unknown EVENT_STORE ${String(unknown)}`);
    }
  }
}
