import type { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_SIGNATURE = 'tidings_append(text[], int[], bigint[], int[], int[], uuid[], text[], jsonb, jsonb)';

/**
 * `tidings_append` keeps one plan per statement instead of planning some of them again at
 * every call. PostgreSQL plans a statement whose parameters are arrays for the values of each
 * call when its generic plan looks dearer than the custom ones, which it always does when it
 * cannot tell the arrays' lengths: the stream versions lookup was planned at every append,
 * and planning was a fifth of the CPU a one-event append took. Its generic plans are the index
 * plans it would choose anyway (enable_seqscan is off in it).
 */
export class AppendPlansKept1764600000000 implements MigrationInterface {
  name = 'AppendPlansKept1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER FUNCTION ${APPEND_SIGNATURE} SET plan_cache_mode = force_generic_plan`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER FUNCTION ${APPEND_SIGNATURE} RESET plan_cache_mode`);
  }
}
