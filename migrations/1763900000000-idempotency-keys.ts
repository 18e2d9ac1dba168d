import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `Idempotency-Key` of API requests (API.md): per caller, the request's fingerprint and, once
 * it succeeded, the response to replay. A row without a status is a request still running (or
 * cut off by a crash: its command id lets a retry finish it without applying it twice).
 */
export class IdempotencyKeys1763900000000 implements MigrationInterface {
  name = 'IdempotencyKeys1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE idempotency_keys (
        caller       text        NOT NULL,
        key          text        NOT NULL,
        fingerprint  text        NOT NULL,
        command_id   uuid        NOT NULL,
        status       int,
        headers      jsonb,
        body         text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (caller, key)
      );
      CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE idempotency_keys');
  }
}
