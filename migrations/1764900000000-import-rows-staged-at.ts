import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `import_rows.staged_at`: when a row of an upload was stored. An upload whose API process died
 * before its job started is never imported nor dropped; the sagas find such uploads by how long
 * no row has been added to them, and drop them (apps/sagas upload-sweeper.ts). Rows stored
 * before this migration count from it.
 */
export class ImportRowsStagedAt1764900000000 implements MigrationInterface {
  name = 'ImportRowsStagedAt1764900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE import_rows ADD COLUMN staged_at timestamptz NOT NULL DEFAULT now()');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE import_rows DROP COLUMN staged_at');
  }
}
