import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where each consumer (group, partition) is in `$all`; written in the same transaction as its effects. */
export class Checkpoints1763700000001 implements MigrationInterface {
  name = 'Checkpoints1763700000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE checkpoints (
        consumer_group text        NOT NULL,
        partition      int         NOT NULL DEFAULT 0,
        position       bigint      NOT NULL,
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, partition)
      );
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE checkpoints');
  }
}
