import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The version of a projection's tables its checkpoint was written against. A rebuild's switch
 * sets it together with the checkpoints, so the statement of a batch that locks its checkpoint
 * also learns which tables to write — one round trip less per batch, and never stale.
 */
export class CheckpointReadModelVersion1763900000001 implements MigrationInterface {
  name = 'CheckpointReadModelVersion1763900000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE checkpoints ADD COLUMN read_model_version int');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE checkpoints DROP COLUMN read_model_version');
  }
}
