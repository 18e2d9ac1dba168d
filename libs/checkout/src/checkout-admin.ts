import type { Clock, EventStore, HandleCommand, IdGenerator, RecordedEvent } from '@tidings/core';
import { checkoutStreamId, evolveCheckout, initialCheckout, type CheckoutEvent, type CheckoutState } from './checkout';
import { recordCheckoutStep } from './record-step/record-step';

export type CheckoutAdminDeps = Readonly<{ store: EventStore; handle: HandleCommand; clock: Clock; ids: IdGenerator }>;

/** What an operator asks of a saga, recorded on its stream with who asked and why. */
async function recordAdminAction(deps: CheckoutAdminDeps, orderId: string, event: CheckoutEvent, actor: string): Promise<CheckoutState> {
  const result = await deps.handle(recordCheckoutStep, checkoutStreamId(orderId), {
    type: 'RecordCheckoutStep',
    data: event,
    metadata: { commandId: deps.ids.next(), correlationId: orderId, actor, now: deps.clock.now() },
  });
  return result.state;
}

/** Retries a failed saga's step (or a payment waiting for its next attempt) now; refused when nothing waits. */
export const retryCheckout = (deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string) =>
  recordAdminAction(deps, orderId, { type: 'CheckoutRetried', data: { orderId, actor, reason } }, actor);

/** Forces compensation; refused once the order is confirmed, a no-op while already compensating. */
export const compensateCheckout = (deps: CheckoutAdminDeps, orderId: string, actor: string, reason: string) =>
  recordAdminAction(deps, orderId, { type: 'CheckoutCompensationStarted', data: { orderId, reason, actor } }, actor);

/** The saga's full history, oldest first, and the state it folds to. */
export async function checkoutHistory(store: EventStore, orderId: string): Promise<{ events: readonly RecordedEvent<CheckoutEvent>[]; state: CheckoutState }> {
  const events = (await store.readStream(checkoutStreamId(orderId))) as RecordedEvent<CheckoutEvent>[];
  return { events, state: events.reduce(evolveCheckout, initialCheckout()) };
}
