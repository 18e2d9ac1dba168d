import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@tidings/read-models';
import { GatewayAborted, GatewayRefused, GatewayUnavailable, type Authorization, type AuthorizeRequest, type PaymentGateway } from './payment-gateway';

type Operation = 'authorize' | 'capture' | 'void' | 'refund';
type AuthorizationStatus = 'authorized' | 'captured' | 'voided' | 'refunded';
/** The result kept under an idempotency key; every retry under the key gets the same answer. */
type Outcome = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded' | 'refused';

/** What one attempt came to. An unavailable gateway keeps no result: the next try is a new attempt. */
type Attempt =
  | Readonly<{ outcome: Exclude<Outcome, 'refused'>; authorizationId?: string }>
  | Readonly<{ outcome: 'refused'; reason: string }>
  | 'unavailable';

type OperationRequest = Readonly<{ operation: Operation; idempotencyKey: string; authorizationId?: string; token?: string; amountCents?: number }>;

type OperationRow = Readonly<{ authorizationId: string | null; token: string | null; outcome: Outcome | null; failures: number; sameRequest: boolean }>;

/** An authorization as the gateway's books hold it; amounts in cents. */
export type SimulatedLedgerEntry = Readonly<{ amountCents: number; capturedCents: number; refundedCents: number; status: AuthorizationStatus }>;

const UNAVAILABLE_TOKEN = /^tok_unavailable_(\d+)$/;

/**
 * A stand-in for a third-party card processor, with its own durable state in PostgreSQL (so it
 * outlives a kill -9 of our processes) and Stripe's idempotency rules. Tokens:
 * `tok_visa` authorizes; `tok_chargeDeclined` declines (`card_declined`); `tok_unavailable_<n>`
 * is unavailable for the first n attempts under a key, then authorizes; `tok_timeout` never
 * answers (the call settles only when its signal aborts); any other token declines (`invalid_token`).
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  private readonly latencyMs: number;

  constructor(
    private readonly pool: Pool,
    options: Readonly<{ latencyMs?: number }> = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
  }

  /** The gateway's books, by authorization id: for ledger checks against our events. */
  static async ledger(pool: Pool): Promise<Map<string, SimulatedLedgerEntry>> {
    const { rows } = await pool.query<{ authorizationId: string; amountCents: string; capturedCents: string; refundedCents: string; status: AuthorizationStatus }>(
      `SELECT authorization_id AS "authorizationId", amount_cents AS "amountCents", captured_cents AS "capturedCents",
              refunded_cents AS "refundedCents", status
         FROM payment_simulator_authorizations`,
    );
    return new Map(
      rows.map((row) => [
        row.authorizationId,
        { amountCents: Number(row.amountCents), capturedCents: Number(row.capturedCents), refundedCents: Number(row.refundedCents), status: row.status },
      ]),
    );
  }

  async authorize(request: AuthorizeRequest, signal?: AbortSignal): Promise<Authorization> {
    if (request.token === 'tok_timeout') {
      await this.wait(signal);
      return answerNever(signal);
    }
    return this.call(
      { operation: 'authorize', idempotencyKey: request.idempotencyKey, token: request.token, amountCents: request.amountCents },
      signal,
      async (db, failures) => {
        const flaky = UNAVAILABLE_TOKEN.exec(request.token);
        if (flaky && failures < Number(flaky[1])) return 'unavailable';
        if (!flaky && request.token !== 'tok_visa') return { outcome: 'declined' };
        const authorizationId = `auth_${randomUUID()}`;
        await db.query(
          `INSERT INTO payment_simulator_authorizations (authorization_id, amount_cents, currency, status) VALUES ($1, $2, $3, 'authorized')`,
          [authorizationId, request.amountCents, request.currency],
        );
        return { outcome: 'authorized', authorizationId };
      },
      (row): Authorization =>
        row.outcome === 'authorized'
          ? { outcome: 'authorized', authorizationId: row.authorizationId! }
          : { outcome: 'declined', reason: row.token === 'tok_chargeDeclined' ? 'card_declined' : 'invalid_token' },
    );
  }

  capture(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ captureId: string }> {
    return this.call(
      { operation: 'capture', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId, amountCents: request.amountCents },
      signal,
      async (db) => {
        const authorization = await lockAuthorization(db, request.authorizationId);
        if (authorization?.status !== 'authorized') return refused(request.authorizationId, authorization?.status);
        if (request.amountCents > authorization.amountCents) {
          return { outcome: 'refused', reason: `cannot capture ${request.amountCents} of an authorization of ${authorization.amountCents}` };
        }
        await db.query(`UPDATE payment_simulator_authorizations SET status = 'captured', captured_cents = $2 WHERE authorization_id = $1`, [
          request.authorizationId,
          request.amountCents,
        ]);
        return { outcome: 'captured' };
      },
      // One authorization is captured at most once, so its capture id derives from it.
      () => ({ captureId: `cap_${request.authorizationId}` }),
    );
  }

  void(request: Readonly<{ idempotencyKey: string; authorizationId: string }>, signal?: AbortSignal): Promise<void> {
    return this.call(
      { operation: 'void', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId },
      signal,
      async (db) => {
        const authorization = await lockAuthorization(db, request.authorizationId);
        if (authorization?.status === 'voided') return { outcome: 'voided' };
        if (authorization?.status !== 'authorized') return refused(request.authorizationId, authorization?.status);
        await db.query(`UPDATE payment_simulator_authorizations SET status = 'voided' WHERE authorization_id = $1`, [request.authorizationId]);
        return { outcome: 'voided' };
      },
      () => undefined,
    );
  }

  refund(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ refundId: string }> {
    return this.call(
      { operation: 'refund', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId, amountCents: request.amountCents },
      signal,
      async (db) => {
        const authorization = await lockAuthorization(db, request.authorizationId);
        if (authorization?.status === 'refunded') return { outcome: 'refunded' };
        if (authorization?.status !== 'captured') return refused(request.authorizationId, authorization?.status);
        if (request.amountCents > authorization.capturedCents) {
          return { outcome: 'refused', reason: `cannot refund ${request.amountCents} of a capture of ${authorization.capturedCents}` };
        }
        await db.query(`UPDATE payment_simulator_authorizations SET status = 'refunded', refunded_cents = $2 WHERE authorization_id = $1`, [
          request.authorizationId,
          request.amountCents,
        ]);
        return { outcome: 'refunded' };
      },
      // One authorization is refunded at most once, so its refund id derives from it.
      () => ({ refundId: `re_${request.authorizationId}` }),
    );
  }

  /**
   * One call under an idempotency key, in one transaction that holds the key's row (and the
   * attempt holds the authorization's): concurrent calls under one key or on one authorization
   * take turns. A kept result is answered again without side effects.
   */
  private async call<T>(
    request: OperationRequest,
    signal: AbortSignal | undefined,
    attempt: (db: PoolClient, failures: number) => Promise<Attempt>,
    answer: (row: OperationRow) => T,
  ): Promise<T> {
    await this.wait(signal);
    const key = request.idempotencyKey;
    // Failures come back as values and are thrown after the commit, which keeps a failure count or a refusal.
    const result = await inTransaction(this.pool, async (db): Promise<T | Error> => {
      const row = await lockOperation(db, request);
      if (!row.sameRequest) return new GatewayRefused(`idempotency key ${key} was used for another request`);
      if (row.outcome === 'refused') return new GatewayRefused(`${request.operation} under idempotency key ${key} was refused`);
      if (row.outcome !== null) return answer(row);
      const attempted = await attempt(db, row.failures);
      if (attempted === 'unavailable') {
        await db.query('UPDATE payment_simulator_operations SET failures = failures + 1 WHERE idempotency_key = $1', [key]);
        return new GatewayUnavailable(`the gateway is unavailable (attempt ${row.failures + 1} under idempotency key ${key})`);
      }
      const authorizationId = 'authorizationId' in attempted ? attempted.authorizationId : undefined;
      await db.query('UPDATE payment_simulator_operations SET outcome = $2, authorization_id = COALESCE($3, authorization_id) WHERE idempotency_key = $1', [
        key,
        attempted.outcome,
        authorizationId ?? null,
      ]);
      return attempted.outcome === 'refused' ? new GatewayRefused(attempted.reason) : answer({ ...row, outcome: attempted.outcome, authorizationId: authorizationId ?? row.authorizationId });
    });
    // The caller stopped listening: the answer is lost, but what the gateway did stays done.
    if (signal?.aborted) throw new GatewayAborted(`${request.operation} under idempotency key ${key} was aborted`);
    if (result instanceof Error) throw result;
    return result;
  }

  /** The network's share of every call: the caller can give up on it. */
  private async wait(signal: AbortSignal | undefined): Promise<void> {
    try {
      await delay(this.latencyMs, undefined, { signal });
    } catch {
      throw new GatewayAborted('the call was aborted before the gateway answered');
    }
  }
}

/** Takes (or creates) the key's row and says whether this request is the one first made under the key. */
async function lockOperation(db: PoolClient, request: OperationRequest): Promise<OperationRow> {
  const values = [request.idempotencyKey, request.operation, request.token ?? null, request.amountCents ?? null, request.authorizationId ?? null];
  await db.query(
    `INSERT INTO payment_simulator_operations (idempotency_key, operation, token, amount_cents, authorization_id)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
    values,
  );
  const { rows } = await db.query<OperationRow>(
    `SELECT authorization_id AS "authorizationId", token, outcome, failures,
            (operation, token, amount_cents) IS NOT DISTINCT FROM ($2::text, $3::text, $4::bigint)
              AND (operation = 'authorize' OR authorization_id IS NOT DISTINCT FROM $5::text) AS "sameRequest"
       FROM payment_simulator_operations
      WHERE idempotency_key = $1
        FOR UPDATE`,
    values,
  );
  return rows[0];
}

async function lockAuthorization(db: PoolClient, authorizationId: string) {
  const { rows } = await db.query<{ status: AuthorizationStatus; amountCents: string; capturedCents: string }>(
    `SELECT status, amount_cents AS "amountCents", captured_cents AS "capturedCents"
       FROM payment_simulator_authorizations
      WHERE authorization_id = $1
        FOR UPDATE`,
    [authorizationId],
  );
  const [row] = rows;
  return row && { status: row.status, amountCents: Number(row.amountCents), capturedCents: Number(row.capturedCents) };
}

const refused = (authorizationId: string, status: AuthorizationStatus | undefined): Attempt => ({
  outcome: 'refused',
  reason: `authorization ${authorizationId} is ${status ?? 'unknown'}`,
});

/** Settles only when the signal aborts, and holds no timer meanwhile. */
const answerNever = (signal: AbortSignal | undefined): Promise<never> =>
  new Promise((_, reject) => {
    const abort = () => reject(new GatewayAborted('the gateway never answered; the caller gave up'));
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
  });
