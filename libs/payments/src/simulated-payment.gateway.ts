import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'pg';
import { GatewayAborted, GatewayRefused, GatewayUnavailable, type Authorization, type AuthorizeRequest, type PaymentGateway } from './payment-gateway';

type Operation = 'authorize' | 'capture' | 'void' | 'refund';
type AuthorizationStatus = 'authorized' | 'captured' | 'voided' | 'refunded';
/** The result kept under an idempotency key; every retry under the key gets the same answer. */
type Outcome = 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded' | 'refused';

/** What the card network makes of a token; the books count the attempts under a key. */
type CardVerdict = Readonly<{ authorizes: boolean; unavailableFor: number }>;

type OperationRequest = Readonly<{
  operation: Operation;
  idempotencyKey: string;
  authorizationId?: string;
  token?: string;
  amountCents?: number;
  currency?: string;
  card?: CardVerdict;
}>;

/**
 * What payment_simulator_call (migrations/1764200000000-payment-simulator-call.ts) came to:
 * the key was used for another request, holds a kept result, counted an unavailable attempt
 * (`failures` includes it; no result is kept, so the next try is a new attempt), or kept this
 * attempt's result. Columns that do not apply are null.
 */
type CallRow = Readonly<{
  answer: 'other_request' | 'kept' | 'unavailable' | 'attempted';
  outcome: Outcome | null;
  /** Why this attempt was refused; a kept refusal keeps no reason. */
  reason: string | null;
  authorizationId: string | null;
  failures: number | null;
}>;

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
      {
        operation: 'authorize',
        idempotencyKey: request.idempotencyKey,
        token: request.token,
        amountCents: request.amountCents,
        currency: request.currency,
        card: cardVerdict(request.token),
      },
      signal,
      // A kept result is only answered to the same request, so its token is this request's.
      (row): Authorization =>
        row.outcome === 'authorized'
          ? { outcome: 'authorized', authorizationId: row.authorizationId! }
          : { outcome: 'declined', reason: request.token === 'tok_chargeDeclined' ? 'card_declined' : 'invalid_token' },
    );
  }

  capture(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ captureId: string }> {
    return this.call(
      { operation: 'capture', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId, amountCents: request.amountCents },
      signal,
      // One authorization is captured at most once, so its capture id derives from it.
      () => ({ captureId: `cap_${request.authorizationId}` }),
    );
  }

  void(request: Readonly<{ idempotencyKey: string; authorizationId: string }>, signal?: AbortSignal): Promise<void> {
    return this.call({ operation: 'void', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId }, signal, () => undefined);
  }

  refund(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ refundId: string }> {
    return this.call(
      { operation: 'refund', idempotencyKey: request.idempotencyKey, authorizationId: request.authorizationId, amountCents: request.amountCents },
      signal,
      // One authorization is refunded at most once, so its refund id derives from it.
      () => ({ refundId: `re_${request.authorizationId}` }),
    );
  }

  /**
   * One call under an idempotency key, as one statement that holds the key's row (and for
   * capture, void and refund the authorization's) until it commits: concurrent calls under one
   * key or on one authorization take turns. A kept result is answered again without side effects.
   */
  private async call<T>(request: OperationRequest, signal: AbortSignal | undefined, answer: (row: CallRow) => T): Promise<T> {
    await this.wait(signal);
    const key = request.idempotencyKey;
    // One statement, committed when it answers: a counted failure or a refusal stays kept whatever is thrown below.
    const row = await callBooks(this.pool, request);
    // The caller stopped listening: the answer is lost, but what the gateway did stays done.
    if (signal?.aborted) throw new GatewayAborted(`${request.operation} under idempotency key ${key} was aborted`);
    if (row.answer === 'other_request') throw new GatewayRefused(`idempotency key ${key} was used for another request`);
    if (row.answer === 'unavailable') throw new GatewayUnavailable(`the gateway is unavailable (attempt ${row.failures} under idempotency key ${key})`);
    if (row.outcome === 'refused') {
      throw new GatewayRefused(row.answer === 'kept' ? `${request.operation} under idempotency key ${key} was refused` : row.reason!);
    }
    return answer(row);
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

/** Runs one call on the gateway's books: a single statement is atomic on its own, so one round trip. */
async function callBooks(pool: Pool, request: OperationRequest): Promise<CallRow> {
  const { rows } = await pool.query<CallRow>(
    `SELECT answer, outcome, reason, authorization_id AS "authorizationId", failures
       FROM payment_simulator_call($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      request.idempotencyKey,
      request.operation,
      request.authorizationId ?? null,
      request.token ?? null,
      request.amountCents ?? null,
      request.currency ?? null,
      request.card?.authorizes ?? false,
      request.card?.unavailableFor ?? 0,
    ],
  );
  return rows[0];
}

/**
 * `tok_unavailable_<n>` fails its first n attempts under a key, then authorizes; so does
 * `tok_visa`, at once. An n beyond what the books count (a bigint) fails every attempt.
 */
function cardVerdict(token: string): CardVerdict {
  const flaky = UNAVAILABLE_TOKEN.exec(token);
  return { authorizes: flaky !== null || token === 'tok_visa', unavailableFor: flaky ? Math.min(Number(flaky[1]), Number.MAX_SAFE_INTEGER) : 0 };
}

/** Settles only when the signal aborts, and holds no timer meanwhile. */
const answerNever = (signal: AbortSignal | undefined): Promise<never> =>
  new Promise((_, reject) => {
    const abort = () => reject(new GatewayAborted('the gateway never answered; the caller gave up'));
    if (signal?.aborted) abort();
    signal?.addEventListener('abort', abort, { once: true });
  });
