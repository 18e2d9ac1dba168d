import type { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_FUNCTION } from './1763700000000-event-store';

/** What every transaction in `tidings_append` is called in pg_stat_activity, from before it takes its transaction id until it ends. */
const APPENDING = 'tidings-append';

const FIRST_LOCK = '  PERFORM pg_advisory_xact_lock(stream_lock_class, q.h)';

/** The function as EventStore1763700000000 created it, to be replaced (and restored by `down`). */
const AS_CREATED = APPEND_FUNCTION.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION');

/**
 * `tidings_append` as EventStore1763700000000 created it, with one statement more: before it
 * takes its transaction id, it names its transaction `tidings-append` (application_name, set
 * for the transaction). Readers of `$all` can then tell a running append from any other
 * running transaction and wait only for appends (see SETTLED in the PostgreSQL event store):
 * a transaction that took its id elsewhere can never append, since an append must be its
 * transaction's first write.
 */
export class AppendsNamed1764500000000 implements MigrationInterface {
  name = 'AppendsNamed1764500000000';

  async up(db: QueryRunner): Promise<void> {
    if (!AS_CREATED.includes(FIRST_LOCK)) throw new Error('tidings_append is not as EventStore1763700000000 created it');
    await db.query(AS_CREATED.replace(FIRST_LOCK, `  PERFORM set_config('application_name', '${APPENDING}', true);\n${FIRST_LOCK}`));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(AS_CREATED);
  }
}
