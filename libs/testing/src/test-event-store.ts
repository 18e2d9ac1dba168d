import type { Pool } from 'pg';
import { PostgresEventStore } from '@tidings/event-store';
import { useTestDatabase, type TestDatabase } from './test-database';

/**
 * For a test file: a fresh database (as useTestDatabase, with its pool) and a PostgreSQL event
 * store on it. Nothing connects before the database is created in beforeAll; the store is
 * closed, then the pool ended, then the database dropped after the file's tests.
 */
export function useTestEventStore(): { readonly store: PostgresEventStore; readonly database: TestDatabase; readonly pool: Pool } {
  // Declared before the database's hooks: after-all hooks run in the order they are declared.
  afterAll(() => store.close());
  const { database, pool } = useTestDatabase();
  const store = new PostgresEventStore({ connectionString: database.url });
  return { store, database, pool };
}
