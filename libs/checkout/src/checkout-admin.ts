import type { Pool } from 'pg';
import type { Clock, EventStore, HandleCommand, IdGenerator, RecordedEvent } from '@tidings/core';
import { checkoutStreamId, evolveCheckout, initialCheckout, type CheckoutEvent } from './checkout';
import { findCheckoutRow, type SagaSummary } from './checkout-sagas.repository';
import { recordCheckoutStep, StepRefused } from './record-step/record-step';

export type CheckoutAdminDeps = Readonly<{ store: EventStore; handle: HandleCommand; clock: Clock; ids: IdGenerator }>;

/**
 * An operator's action applies to the saga as they saw it when `expectedVersion` (its stream's
 * version, as `versionedCheckoutWithHistory` shows it) is given: a saga that has moved on since
 * refuses it with WrongExpectedVersion, and nothing is recorded.
 */
export type AdminActionOptions = Readonly<{ expectedVersion?: number }>;

/** What an operator asks of a saga, recorded on its stream with who asked and why: the saga after it, its version, and where its record is. */
function recordAdminAction(deps: CheckoutAdminDeps, orderId: string, event: CheckoutEvent, actor: string, { expectedVersion }: AdminActionOptions) {
  return deps.handle(
    recordCheckoutStep,
    checkoutStreamId(orderId),
    {
      type: 'RecordCheckoutStep',
      data: event,
      metadata: { commandId: deps.ids.next(), correlationId: orderId, actor, now: deps.clock.now() },
    },
    { expectedVersion },
  );
}

/** Retries a failed saga's step (or a payment waiting for its next attempt) now; refused when nothing waits. */
export const retryCheckout = (deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string, options: AdminActionOptions = {}) =>
  recordAdminAction(deps, orderId, { type: 'CheckoutRetried', data: { orderId, actor, reason } }, actor, options);

/**
 * Forces compensation; refused once the order is confirmed, and once compensation has begun (the
 * saga's own start of it records nothing twice, but an operator's is either in the history or
 * answered with why not).
 */
export async function compensateCheckout(deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string, options: AdminActionOptions = {}) {
  const recorded = await recordAdminAction(deps, orderId, { type: 'CheckoutCompensationStarted', data: { orderId, reason, actor } }, actor, options);
  if (recorded.events.length === 0) throw new StepRefused('nothing-to-compensate', `checkout of order ${orderId} is ${recorded.state.status} already: nothing was recorded`);
  return recorded;
}

/** One entry of a saga's history, as operators see it. */
export type CheckoutHistoryEntry = Readonly<{ at: string; type: CheckoutEvent['type']; data: CheckoutEvent['data'] }>;

export type CheckoutWithHistory = SagaSummary & { history: CheckoutHistoryEntry[] };

/**
 * A saga's summary with its full history, oldest first; undefined when there is no such saga.
 * The status and last error are the history's: the summary's row is written when a drive ends,
 * so it trails a drive that is still waiting (on a payment gateway that does not answer, say).
 */
export async function checkoutWithHistory(pool: Pool, store: EventStore, sagaId: string): Promise<CheckoutWithHistory | undefined> {
  return (await versionedCheckoutWithHistory(pool, store, sagaId))?.saga;
}

/** The same, with the version of the saga's stream its history ends at (-1 before its first record): what an action on the saga as shown expects. */
export async function versionedCheckoutWithHistory(pool: Pool, store: EventStore, sagaId: string): Promise<Readonly<{ saga: CheckoutWithHistory; version: number }> | undefined> {
  const found = await findCheckoutRow(pool, sagaId);
  if (!found) return undefined;
  const { saga, driveFailures } = found;
  const events = (await store.readStream(checkoutStreamId(saga.orderId))) as RecordedEvent<CheckoutEvent>[];
  const state = events.reduce(evolveCheckout, initialCheckout());
  return {
    saga: {
      ...saga,
      // A drive that failed (the database away, say) records nothing in the history: its error is the row's.
      ...(state.status === 'new' ? {} : { status: state.status, lastError: driveFailures > 0 ? saga.lastError : (state.lastError ?? saga.lastError) }),
      history: events.map((event) => ({ at: event.recordedAt.toISOString(), type: event.type, data: event.data })),
    },
    version: events.at(-1)?.streamVersion ?? -1,
  };
}
