import type { Pool } from 'pg';
import type { Clock, EventStore, HandleCommand, IdGenerator, RecordedEvent } from '@tidings/core';
import { checkoutStreamId, evolveCheckout, initialCheckout, type CheckoutEvent } from './checkout';
import { findCheckoutRow, type SagaSummary } from './checkout-sagas.repository';
import { recordCheckoutStep, StepRefused } from './record-step/record-step';

export type CheckoutAdminDeps = Readonly<{ store: EventStore; handle: HandleCommand; clock: Clock; ids: IdGenerator }>;

/** What an operator asks of a saga, recorded on its stream with who asked and why: the saga after it, and where its record is. */
function recordAdminAction(deps: CheckoutAdminDeps, orderId: string, event: CheckoutEvent, actor: string) {
  return deps.handle(recordCheckoutStep, checkoutStreamId(orderId), {
    type: 'RecordCheckoutStep',
    data: event,
    metadata: { commandId: deps.ids.next(), correlationId: orderId, actor, now: deps.clock.now() },
  });
}

/** Retries a failed saga's step (or a payment waiting for its next attempt) now; refused when nothing waits. */
export const retryCheckout = (deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string) =>
  recordAdminAction(deps, orderId, { type: 'CheckoutRetried', data: { orderId, actor, reason } }, actor);

/**
 * Forces compensation; refused once the order is confirmed, and once compensation has begun (the
 * saga's own start of it records nothing twice, but an operator's is either in the history or
 * answered with why not).
 */
export async function compensateCheckout(deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string) {
  const recorded = await recordAdminAction(deps, orderId, { type: 'CheckoutCompensationStarted', data: { orderId, reason, actor } }, actor);
  if (recorded.events.length === 0) throw new StepRefused('nothing-to-compensate', `checkout of order ${orderId} is ${recorded.state.status} already: nothing was recorded`);
  return recorded;
}

/** One entry of a saga's history, as operators see it. */
export type CheckoutHistoryEntry = Readonly<{ at: string; type: CheckoutEvent['type']; data: CheckoutEvent['data'] }>;

/**
 * A saga's summary with its full history, oldest first; undefined when there is no such saga.
 * The status and last error are the history's: the summary's row is written when a drive ends,
 * so it trails a drive that is still waiting (on a payment gateway that does not answer, say).
 */
export async function checkoutWithHistory(pool: Pool, store: EventStore, sagaId: string): Promise<(SagaSummary & { history: CheckoutHistoryEntry[] }) | undefined> {
  const found = await findCheckoutRow(pool, sagaId);
  if (!found) return undefined;
  const { saga, driveFailures } = found;
  const events = (await store.readStream(checkoutStreamId(saga.orderId))) as RecordedEvent<CheckoutEvent>[];
  const state = events.reduce(evolveCheckout, initialCheckout());
  return {
    ...saga,
    // A drive that failed (the database away, say) records nothing in the history: its error is the row's.
    ...(state.status === 'new' ? {} : { status: state.status, lastError: driveFailures > 0 ? saga.lastError : (state.lastError ?? saga.lastError) }),
    history: events.map((event) => ({ at: event.recordedAt.toISOString(), type: event.type, data: event.data })),
  };
}
