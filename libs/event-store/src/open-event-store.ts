import type { EventStore } from '@tidings/core';
import type { Settings } from '@tidings/settings';
import { openEventStoreDb } from './eventstoredb/eventstoredb-event-store';
import { PostgresEventStore } from './postgres/postgres-event-store';

/** The adapter that `EVENT_STORE` selects (ARCHITECTURE §3). */
export function openEventStore(settings: Pick<Settings, 'eventStore' | 'databaseUrl' | 'eventStoreUrl' | 'databasePoolSize'>): EventStore {
  if (settings.eventStore === 'postgres') return new PostgresEventStore({ connectionString: settings.databaseUrl, poolSize: settings.databasePoolSize });
  if (!settings.eventStoreUrl) throw new Error('EVENT_STORE=eventstoredb needs EVENTSTORE_URL');
  return openEventStoreDb(settings.eventStoreUrl);
}
