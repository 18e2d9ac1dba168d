import { PostgresEventStore } from '@tidings/event-store';
import { createTestDatabase, type TestDatabase } from './test-database';

/**
 * For a test file: a fresh database with a PostgreSQL event store on it, opened before the
 * file's tests and dropped after them. Read `store` and `database` inside tests.
 */
export function useTestEventStore(): { readonly store: PostgresEventStore; readonly database: TestDatabase } {
  let database: TestDatabase | undefined;
  let store: PostgresEventStore | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = new PostgresEventStore({ connectionString: database.url });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  return {
    get store() {
      if (!store) throw new Error('the test event store is opened in beforeAll');
      return store;
    },
    get database() {
      if (!database) throw new Error('the test database is created in beforeAll');
      return database;
    },
  };
}
