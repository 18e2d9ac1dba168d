import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Uploads of CSV product imports, one row per data row of a file, kept until the job has
 * ended: what the chunk workers read (by job and chunk) and where duplicate skus are found
 * (the first line of each sku in the file). `sku` is null on rows whose sku is malformed.
 */
export class ImportRows1764100000000 implements MigrationInterface {
  name = 'ImportRows1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE import_rows (
        job_id uuid  NOT NULL,
        chunk  int   NOT NULL,
        line   int   NOT NULL,
        sku    text,
        fields jsonb NOT NULL,
        PRIMARY KEY (job_id, chunk, line)
      );
      CREATE INDEX import_rows_sku ON import_rows (job_id, sku, line) WHERE sku IS NOT NULL;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE import_rows');
  }
}
