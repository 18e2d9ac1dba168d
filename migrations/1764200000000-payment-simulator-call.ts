import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `payment_simulator_call`: one call of the simulated card processor (libs/payments'
 * SimulatedPaymentGateway) on its books, as a single statement. The call is atomic on its own
 * and costs one round trip instead of a transaction of six or seven.
 */
export class PaymentSimulatorCall1764200000000 implements MigrationInterface {
  name = 'PaymentSimulatorCall1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(CALL_FUNCTION);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP FUNCTION payment_simulator_call(text, text, text, text, bigint, text, boolean, bigint)');
  }
}

/**
 * Takes the idempotency key's row (inserting it on first use) and holds it to commit, so calls
 * under one key take turns; capture, void and refund also hold the authorization's row, so
 * calls on one authorization take turns. Then, with Stripe's rules:
 * - 'other_request': the key was first used for another request; nothing changes.
 * - 'kept': the key holds a result (`outcome`, `authorization_id`), answered again without
 *   side effects. A kept 'refused' keeps no reason.
 * - 'unavailable': the card is unavailable for its first `p_unavailable_for` attempts under the
 *   key; this one is counted (`failures` is the count with it) and keeps no result.
 * - 'attempted': this call's attempt came to `outcome` (and `reason` when 'refused'), kept
 *   under the key.
 * The caller decides what the token means (`p_authorizes`, `p_unavailable_for`): these are only
 * the books. Each statement inside reads the latest committed rows (READ COMMITTED, a volatile
 * function), as the separate statements of a transaction would.
 */
const CALL_FUNCTION = `
CREATE FUNCTION payment_simulator_call(
  p_key text, p_operation text, p_authorization_id text, p_token text, p_amount_cents bigint,
  p_currency text, p_authorizes boolean, p_unavailable_for bigint,
  OUT answer text, OUT outcome text, OUT reason text, OUT authorization_id text, OUT failures int
)
LANGUAGE plpgsql
-- Lookups must stay on the primary keys even while the tables are young and their statistics say "tiny".
SET enable_seqscan = off
AS $fn$
-- In the statements below, outcome, authorization_id and failures are the tables' columns, not the OUT parameters.
#variable_conflict use_column
DECLARE
  key_row payment_simulator_operations;
  authorization_row payment_simulator_authorizations;
  attempt_outcome text;
  attempt_authorization_id text := p_authorization_id;
BEGIN
  -- DO UPDATE rather than DO NOTHING: the row comes back locked, whichever call inserted it.
  INSERT INTO payment_simulator_operations (idempotency_key, operation, token, amount_cents, authorization_id)
  VALUES (p_key, p_operation, p_token, p_amount_cents, p_authorization_id)
  ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = excluded.idempotency_key
  RETURNING * INTO key_row;

  IF (key_row.operation, key_row.token, key_row.amount_cents) IS DISTINCT FROM (p_operation, p_token, p_amount_cents)
     OR (key_row.operation <> 'authorize' AND key_row.authorization_id IS DISTINCT FROM p_authorization_id) THEN
    answer := 'other_request';
    RETURN;
  END IF;

  IF key_row.outcome IS NOT NULL THEN
    answer := 'kept';
  ELSIF key_row.failures < p_unavailable_for THEN
    answer := 'unavailable';
    UPDATE payment_simulator_operations SET failures = failures + 1 WHERE idempotency_key = p_key
    RETURNING * INTO key_row;
  ELSE
    answer := 'attempted';
    IF p_operation <> 'authorize' THEN
      SELECT * INTO authorization_row FROM payment_simulator_authorizations WHERE authorization_id = p_authorization_id FOR UPDATE;
    END IF;
    CASE p_operation
    WHEN 'authorize' THEN
      IF p_authorizes THEN
        attempt_authorization_id := 'auth_' || gen_random_uuid();
        INSERT INTO payment_simulator_authorizations (authorization_id, amount_cents, currency, status)
        VALUES (attempt_authorization_id, p_amount_cents, p_currency, 'authorized');
        attempt_outcome := 'authorized';
      ELSE
        attempt_outcome := 'declined';
      END IF;
    WHEN 'capture' THEN
      IF authorization_row.status IS DISTINCT FROM 'authorized' THEN
        attempt_outcome := 'refused';
        reason := format('authorization %s is %s', p_authorization_id, coalesce(authorization_row.status, 'unknown'));
      ELSIF p_amount_cents > authorization_row.amount_cents THEN
        attempt_outcome := 'refused';
        reason := format('cannot capture %s of an authorization of %s', p_amount_cents, authorization_row.amount_cents);
      ELSE
        UPDATE payment_simulator_authorizations SET status = 'captured', captured_cents = p_amount_cents
         WHERE authorization_id = p_authorization_id;
        attempt_outcome := 'captured';
      END IF;
    WHEN 'void' THEN
      IF authorization_row.status = 'voided' THEN
        attempt_outcome := 'voided';
      ELSIF authorization_row.status IS DISTINCT FROM 'authorized' THEN
        attempt_outcome := 'refused';
        reason := format('authorization %s is %s', p_authorization_id, coalesce(authorization_row.status, 'unknown'));
      ELSE
        UPDATE payment_simulator_authorizations SET status = 'voided' WHERE authorization_id = p_authorization_id;
        attempt_outcome := 'voided';
      END IF;
    WHEN 'refund' THEN
      IF authorization_row.status = 'refunded' THEN
        attempt_outcome := 'refunded';
      ELSIF authorization_row.status IS DISTINCT FROM 'captured' THEN
        attempt_outcome := 'refused';
        reason := format('authorization %s is %s', p_authorization_id, coalesce(authorization_row.status, 'unknown'));
      ELSIF p_amount_cents > authorization_row.captured_cents THEN
        attempt_outcome := 'refused';
        reason := format('cannot refund %s of a capture of %s', p_amount_cents, authorization_row.captured_cents);
      ELSE
        UPDATE payment_simulator_authorizations SET status = 'refunded', refunded_cents = p_amount_cents
         WHERE authorization_id = p_authorization_id;
        attempt_outcome := 'refunded';
      END IF;
    END CASE;
    UPDATE payment_simulator_operations SET outcome = attempt_outcome, authorization_id = attempt_authorization_id
     WHERE idempotency_key = p_key
    RETURNING * INTO key_row;
  END IF;

  outcome := key_row.outcome;
  authorization_id := key_row.authorization_id;
  failures := key_row.failures;
END
$fn$;
`;
