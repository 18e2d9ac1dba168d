import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per checkout saga: its status for operators (GET /admin/sagas) and when the
 * scheduler drives it next (`due_at`, claimed with FOR UPDATE SKIP LOCKED; null once it needs
 * nobody). `nudged_at` keeps a wake-up asked for while a drive was running.
 */
export class CheckoutSagas1764000000001 implements MigrationInterface {
  name = 'CheckoutSagas1764000000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE checkout_sagas (
        saga_id          text        PRIMARY KEY,
        order_id         text        NOT NULL,
        status           text        NOT NULL,
        step             text        NOT NULL,
        payment_attempts int         NOT NULL DEFAULT 0,
        drive_failures   int         NOT NULL DEFAULT 0,
        last_error       text,
        started_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        due_at           timestamptz,
        nudged_at        timestamptz
      );
      CREATE INDEX checkout_sagas_due ON checkout_sagas (due_at) WHERE due_at IS NOT NULL;
      CREATE INDEX checkout_sagas_status ON checkout_sagas (status, saga_id);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE checkout_sagas');
  }
}
