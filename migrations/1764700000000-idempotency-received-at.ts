import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `idempotency_keys.received_at`: when the request that claimed the key arrived. A request cut
 * off by a crash and taken over by a retry is decided again at that time, not the retry's
 * (`created_at` moves with each takeover, which is how a second one is kept off): a view
 * recorded without a time of its own is dated by it, and derives the same events, ids and all.
 */
export class IdempotencyReceivedAt1764700000000 implements MigrationInterface {
  name = 'IdempotencyReceivedAt1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE idempotency_keys ADD COLUMN received_at timestamptz');
    await db.query('UPDATE idempotency_keys SET received_at = created_at');
    await db.query('ALTER TABLE idempotency_keys ALTER COLUMN received_at SET DEFAULT now(), ALTER COLUMN received_at SET NOT NULL');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE idempotency_keys DROP COLUMN received_at');
  }
}
