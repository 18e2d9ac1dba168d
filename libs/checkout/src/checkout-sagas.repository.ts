import type { Pool, PoolClient } from 'pg';
import type { Statement } from '@tidings/read-models';
import { checkoutStreamId, isSettled, type SagaStatus } from './checkout';
import type { DriveOutcome } from './checkout-driver';

type Db = Pool | PoolClient;

export type SagaSummary = Readonly<{
  sagaId: string;
  orderId: string;
  /** A saga not yet driven (`new` in its row) is running: it is under way. */
  status: SagaStatus;
  step: string;
  attempts: number;
  lastError: string | null;
  startedAt: string;
  updatedAt: string;
}>;

type SagaRecord = {
  saga_id: string;
  order_id: string;
  status: SagaStatus | 'new';
  step: string;
  payment_attempts: number;
  last_error: string | null;
  drive_failures: number;
  started_at: Date;
  updated_at: Date;
};

const summaryOf = (record: SagaRecord): SagaSummary => ({
  sagaId: record.saga_id,
  orderId: record.order_id,
  status: record.status === 'new' ? 'running' : record.status,
  step: record.step,
  attempts: record.payment_attempts,
  lastError: record.last_error,
  startedAt: record.started_at.toISOString(),
  updatedAt: record.updated_at.toISOString(),
});

/**
 * What writes the sagas' rows from the order events (apps/sagas' CheckoutTrigger): the saga
 * list shows a position once this consumer group has applied it.
 */
export const CHECKOUT_TRIGGER = { name: 'checkout sagas', group: 'saga.checkout', categories: ['order'] } as const;

/** A placed order's saga, due at once; placing it again (redelivery) changes nothing. */
export async function scheduleCheckouts(db: Db, orderIds: readonly string[]): Promise<void> {
  for (const statement of checkoutsScheduled(orderIds)) await db.query(statement);
}

/** The statement of scheduleCheckouts, to send with others; none for no order. */
export const checkoutsScheduled = (orderIds: readonly string[]): Statement[] =>
  orderIds.length === 0
    ? []
    : [
        {
          name: 'tidings_schedule_checkouts',
          text: `INSERT INTO checkout_sagas (saga_id, order_id, status, step, due_at)
                 SELECT 'checkout-' || id, id, 'new', 'start', now() FROM unnest($1::text[]) AS id
                 ON CONFLICT (saga_id) DO NOTHING`,
          values: [orderIds],
        },
      ];

/** Asks for the sagas to be driven now (a cancellation, an operator's retry), even while a drive is running. */
export async function nudgeCheckouts(db: Db, orderIds: readonly string[]): Promise<void> {
  for (const statement of checkoutsNudged(orderIds)) await db.query(statement);
}

/** The statement of nudgeCheckouts, to send with others; none for no order. */
export const checkoutsNudged = (orderIds: readonly string[]): Statement[] =>
  orderIds.length === 0
    ? []
    : [
        {
          name: 'tidings_nudge_checkouts',
          text: `UPDATE checkout_sagas SET due_at = least(coalesce(due_at, now()), now()), nudged_at = clock_timestamp() WHERE saga_id = ANY($1)`,
          values: [orderIds.map(checkoutStreamId)],
        },
      ];

/**
 * A saga taken for one drive: under which claim (the saga's row keeps it until another claim
 * takes the saga), and when. `isNew`: no drive of the saga has settled yet, so its stream most
 * likely has no events.
 */
/** `settled`: its row says a drive already ended it (completed, compensated or failed): a drive now is a nudge's, or an operator's. */
export type ClaimedCheckout = Readonly<{ orderId: string; claim: string; claimedAt: Date; isNew: boolean; settled: boolean }>;

/**
 * Takes up to `limit` due sagas for one drive each, under `claim` (an id made for this claim
 * alone: see recoverClaim): skips those another scheduler holds, and moves their `due_at` a lease
 * (`leaseMs`) ahead, so a driver killed mid-drive leaves them due again then.
 */
export async function claimDueCheckouts(pool: Pool, limit: number, leaseMs: number, claim: string): Promise<ClaimedCheckout[]> {
  const { rows } = await pool.query<ClaimRow>({
    // Planned on every call, never prepared: a plan cached while the table was small (a sequential
    // scan) would be kept as it grows by the thousand sagas, with no ANALYZE to replace it when
    // autovacuum is off.
    text: `UPDATE checkout_sagas SET due_at = now() + make_interval(secs => $2::double precision / 1000), claim = $3
           WHERE saga_id IN (
             SELECT saga_id FROM checkout_sagas WHERE due_at <= now() ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
           )
           RETURNING order_id, claim, status, clock_timestamp() AS claimed_at`,
    values: [limit, leaseMs, claim],
  });
  return rows.map(claimedOf);
}

/**
 * The sagas a claim took, if it was carried out, while its lease lasts: for a scheduler that
 * lost the claim's answer with its connection. Claimed when the claim's lease began (the nudge
 * check in settleCheckouts errs towards driving again).
 */
export async function recoverClaim(pool: Pool, leaseMs: number, claim: string): Promise<ClaimedCheckout[]> {
  const { rows } = await pool.query<ClaimRow>(
    `SELECT order_id, claim, status, due_at - make_interval(secs => $2::double precision / 1000) AS claimed_at
     FROM checkout_sagas WHERE claim = $1 AND due_at > now()`,
    [claim, leaseMs],
  );
  return rows.map(claimedOf);
}

type ClaimRow = { order_id: string; claim: string; status: string; claimed_at: Date };

const claimedOf = (row: ClaimRow): ClaimedCheckout => ({
  orderId: row.order_id,
  claim: row.claim,
  claimedAt: row.claimed_at,
  isNew: row.status === 'new',
  settled: isSettled(row.status),
});

export type SettledCheckout = Readonly<{ claim: ClaimedCheckout; outcome: DriveOutcome }>;

/**
 * What drives reached, in one statement: each saga due again at its wake-up, or at once if nudged
 * while it ran. A saga another claim has taken since (this one's lease ran out) is that claim's
 * to settle: it is left as it is.
 */
export async function settleCheckouts(pool: Pool, settled: readonly SettledCheckout[]): Promise<void> {
  await pool.query({
    // Planned on every call, never prepared, like the claim: a plan cached while the table was small would scan it whole at every settle as it grows.
    text: `UPDATE checkout_sagas SET status = drive.status, step = drive.step, payment_attempts = drive.payment_attempts, last_error = drive.last_error,
             drive_failures = 0, updated_at = now(), due_at = CASE WHEN nudged_at > drive.claimed_at THEN now() ELSE drive.wake_at END
           FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::uuid[])
                AS drive(saga_id, status, step, payment_attempts, last_error, wake_at, claimed_at, claim)
           WHERE checkout_sagas.saga_id = drive.saga_id AND checkout_sagas.claim = drive.claim`,
    values: [
      settled.map(({ claim }) => checkoutStreamId(claim.orderId)),
      settled.map(({ outcome }) => outcome.status),
      settled.map(({ outcome }) => outcome.step),
      settled.map(({ outcome }) => outcome.paymentAttempts),
      settled.map(({ outcome }) => outcome.lastError ?? null),
      settled.map(({ outcome }) => outcome.wakeAt ?? null),
      settled.map(({ claim }) => claim.claimedAt),
      settled.map(({ claim }) => claim.claim),
    ],
  });
}

/**
 * A drive that threw (a database or gateway outage): due again after a backoff that grows with
 * each failure — unless another claim has taken the saga since, whose lease this must not cut short.
 */
export async function deferCheckout(pool: Pool, claim: ClaimedCheckout, error: string): Promise<void> {
  await pool.query({
    name: 'tidings_defer_checkout',
    text: `UPDATE checkout_sagas SET drive_failures = drive_failures + 1, last_error = $2, updated_at = now(),
             due_at = now() + make_interval(secs => least(30, 0.2 * power(2, drive_failures)))
           WHERE saga_id = $1 AND claim = $3`,
    values: [checkoutStreamId(claim.orderId), error, claim.claim],
  });
}

export async function listCheckouts(db: Db, options: Readonly<{ status?: SagaStatus; limit: number; after?: string }>): Promise<{ items: SagaSummary[]; last?: string }> {
  const statuses = options.status === 'running' ? ['running', 'new'] : options.status ? [options.status] : null;
  const { rows } = await db.query<SagaRecord>(
    `SELECT * FROM checkout_sagas WHERE ($1::text[] IS NULL OR status = ANY($1)) AND ($2::text IS NULL OR saga_id > $2) ORDER BY saga_id LIMIT $3`,
    // One more than the page: a page that ends the list says so, rather than pointing to an empty one.
    [statuses, options.after ?? null, options.limit + 1],
  );
  const items = rows.slice(0, options.limit).map(summaryOf);
  return { items, ...(rows.length > options.limit ? { last: items[items.length - 1].sagaId } : {}) };
}

export async function findCheckout(db: Db, sagaId: string): Promise<SagaSummary | undefined> {
  return (await findCheckoutRow(db, sagaId))?.saga;
}

/** A saga's summary, and how many drives have failed since the last one that settled (the row's last error is then theirs). */
export async function findCheckoutRow(db: Db, sagaId: string): Promise<{ saga: SagaSummary; driveFailures: number } | undefined> {
  const { rows } = await db.query<SagaRecord>('SELECT * FROM checkout_sagas WHERE saga_id = $1', [sagaId]);
  return rows[0] ? { saga: summaryOf(rows[0]), driveFailures: rows[0].drive_failures } : undefined;
}

/** Sagas per status, for the metrics. */
export async function countCheckoutsByStatus(db: Db): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; count: string }>('SELECT status, count(*) FROM checkout_sagas GROUP BY status');
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}
