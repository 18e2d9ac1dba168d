import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The simulated card processor's own books (libs/payments' SimulatedPaymentGateway): a third
 * party's state, kept apart from ours so it survives our crashes. One row per idempotency key,
 * holding the request and, once an attempt completed, its outcome (transient failures are only
 * counted); one row per authorization with what was captured and refunded.
 */
export class PaymentSimulator1764000000000 implements MigrationInterface {
  name = 'PaymentSimulator1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE payment_simulator_operations (
        idempotency_key  text        PRIMARY KEY,
        operation        text        NOT NULL CHECK (operation IN ('authorize', 'capture', 'void', 'refund')),
        authorization_id text,
        token            text,
        amount_cents     bigint,
        outcome          text,
        failures         int         NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE payment_simulator_authorizations (
        authorization_id text   PRIMARY KEY,
        amount_cents     bigint NOT NULL,
        currency         text   NOT NULL,
        status           text   NOT NULL CHECK (status IN ('authorized', 'captured', 'voided', 'refunded')),
        captured_cents   bigint NOT NULL DEFAULT 0,
        refunded_cents   bigint NOT NULL DEFAULT 0
      );
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE payment_simulator_authorizations, payment_simulator_operations');
  }
}
