import type { Pool } from 'pg';
import { decidedEvents, type Command, type CommandMetadata, type Decider, type EventStore, type Message, type RecordedEvent, type RunCommand } from '@tidings/core';
import { OrderAlreadyConfirmed, orderStreamId, requestOrderCancellation, type Order, type OrderEvent } from '@tidings/orders';
import { checkoutStreamId, evolveCheckout, initialCheckout, type CheckoutEvent, type CheckoutState } from './checkout';
import { findCheckoutRow, type SagaSummary } from './checkout-sagas.repository';
import { recordCheckoutStep, StepRefused } from './record-step/record-step';

/**
 * An operator's action applies to the saga as they saw it when `expectedVersion` (its stream's
 * version, as `versionedCheckoutWithHistory` shows it) is given: a saga that has moved on since
 * refuses it with WrongExpectedVersion, and nothing is recorded.
 */
export type AdminActionOptions = Readonly<{ expectedVersion?: number }>;

/**
 * What an operator asks of a saga, recorded on its stream with who asked and why: the saga after
 * it, its version, and where its record is. `metadata` is the operator's command: asked again
 * under its id (a request retried under its Idempotency-Key after a crash), it records nothing
 * more and answers as it did.
 */
function recordAdminAction(run: RunCommand, event: CheckoutEvent, metadata: CommandMetadata, { expectedVersion }: AdminActionOptions) {
  const { orderId } = event.data;
  return run(recordCheckoutStep, checkoutStreamId(orderId), { type: 'RecordCheckoutStep', data: event, metadata: { ...metadata, correlationId: orderId } }, { expectedVersion });
}

/** Retries a failed saga's step (or a payment waiting for its next attempt) now; refused when nothing waits. */
export const retryCheckout = (run: RunCommand, orderId: string, reason: string, metadata: CommandMetadata, options: AdminActionOptions = {}) =>
  recordAdminAction(run, { type: 'CheckoutRetried', data: { orderId, actor: metadata.actor, reason } }, metadata, options);

/**
 * A command on a stream that decides nothing, folded as `fold` folds it: run, it says whether
 * the stream is still at an expected version (If-Match) and whether this command id is already
 * in it (`repeated`), and records nothing.
 */
const lookingAt = <State, E extends Message>({ initialState, evolve }: Pick<Decider<State, never, E>, 'initialState' | 'evolve'>): Decider<State, Command<'LookAt', { orderId: string }>, E> => ({
  initialState,
  evolve,
  decide: () => [],
});
const checkoutAsSeen = lookingAt<CheckoutState, CheckoutEvent>(recordCheckoutStep);
const orderAsSeen = lookingAt<Order, OrderEvent>(requestOrderCancellation);

/**
 * Forces compensation; refused once the order is confirmed, and once compensation has begun (the
 * saga's own start of it records nothing twice, but an operator's is either in the history or
 * answered with why not).
 *
 * The order decides between its confirmation and its cancellation, so the operator's wish is
 * recorded there first, as a customer's is: a confirmation the saga is making at this moment
 * either came first, and the compensation is refused, or is refused itself, and its capture
 * refunded. Recorded on the saga alone, it let a confirmation through that the saga then could
 * not record: an order confirmed with its payment refunded. If-Match is checked before
 * anything is recorded. Once the order holds the request, the compensation is this operator's
 * whatever the saga recorded first (it may have met the request before this records it, with
 * the operator and their reason), and a retry of the request answers as it did.
 */
export async function compensateCheckout(run: RunCommand, orderId: string, reason: string, metadata: CommandMetadata, { expectedVersion }: AdminActionOptions = {}) {
  const compensation: CheckoutEvent = { type: 'CheckoutCompensationStarted', data: { orderId, reason, actor: metadata.actor } };
  const askedBefore = (await run(orderAsSeen, orderStreamId(orderId), { type: 'LookAt', data: { orderId }, metadata })).repeated === true;
  if (!askedBefore) {
    const seen = await run(checkoutAsSeen, checkoutStreamId(orderId), { type: 'LookAt', data: { orderId }, metadata }, { expectedVersion });
    // Decided as the saga's record will be (refused before it starts or once confirmed; nothing to record once compensating), before the order is touched.
    if (decidedEvents(recordCheckoutStep.decide({ type: 'RecordCheckoutStep', data: compensation, metadata }, seen.state)).length === 0) throw nothingToCompensate(orderId, seen.state.status);
    await requestCancellation(run, orderId, reason, metadata);
  }
  return recordAdminAction(run, compensation, metadata, {});
}

async function requestCancellation(run: RunCommand, orderId: string, reason: string, metadata: CommandMetadata): Promise<void> {
  try {
    await run(requestOrderCancellation, orderStreamId(orderId), { type: 'RequestOrderCancellation', data: { orderId, requestedBy: metadata.actor, reason }, metadata: { ...metadata, correlationId: orderId } });
  } catch (error) {
    if (error instanceof OrderAlreadyConfirmed) throw confirmedAlready(orderId);
    throw error;
  }
}

const confirmedAlready = (orderId: string) => new StepRefused('checkout-confirmed', `order ${orderId} is confirmed: it can no longer be compensated`);
const nothingToCompensate = (orderId: string, status: string) => new StepRefused('nothing-to-compensate', `checkout of order ${orderId} is ${status} already: nothing was recorded`);

/** One entry of a saga's history, as operators see it. */
export type CheckoutHistoryEntry = Readonly<{ at: string; type: CheckoutEvent['type']; data: CheckoutEvent['data'] }>;

export type CheckoutWithHistory = SagaSummary & { history: CheckoutHistoryEntry[] };

/**
 * A saga's summary with its full history, oldest first; undefined when there is no such saga.
 * The status, payment attempts and last error are the history's: the summary's row is written
 * when a drive ends, so it trails a drive that is still waiting (on a payment gateway that does
 * not answer, say). The step is the row's: where the last drive that ended left the saga.
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
      ...(state.status === 'new' ? {} : { status: state.status, attempts: state.payment.attempt, lastError: driveFailures > 0 ? saga.lastError : (state.lastError ?? saga.lastError) }),
      history: events.map((event) => ({ at: event.recordedAt.toISOString(), type: event.type, data: event.data })),
    },
    version: events.at(-1)?.streamVersion ?? -1,
  };
}
