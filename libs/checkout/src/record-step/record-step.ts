import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { evolveCheckout, initialCheckout, reservationOf, type CheckoutEvent, type CheckoutState, type StartedCheckout } from '../checkout';

/** The saga records what a step did; the record is refused when it no longer fits. */
export type RecordCheckoutStep = Command<'RecordCheckoutStep', CheckoutEvent>;

const FORWARD = new Set<CheckoutEvent['type']>([
  'CheckoutItemsReserved',
  'CheckoutItemReserved',
  'CheckoutItemUnavailable',
  'CheckoutPaymentAttempted',
  'CheckoutPaymentAuthorized',
  'CheckoutPaymentDeclined',
  'CheckoutPaymentFailed',
  'CheckoutPaymentTimedOut',
  'CheckoutPaymentCaptured',
  'CheckoutOrderConfirmed',
  'CheckoutStockCommitted',
  'CheckoutCompleted',
]);
const BACKWARD = new Set<CheckoutEvent['type']>(['CheckoutPaymentVoided', 'CheckoutPaymentRefunded', 'CheckoutItemReleased', 'CheckoutOrderCancelled', 'CheckoutCompensated']);
/**
 * Whether the event is what the open payment attempt came to, recorded once compensation has
 * begun while its answer was unknown, so an authorization it held is voided: the gateway's
 * answer, or the attempt's time-out (its own, not an earlier attempt's). A transient failure is
 * no answer: it is asked again.
 */
function settlesOpenAttempt(state: StartedCheckout, event: CheckoutEvent): boolean {
  if (state.status !== 'compensating' || state.payment.status !== 'attempting') return false;
  if (event.type === 'CheckoutPaymentTimedOut') return event.data.attempt === state.payment.attempt;
  return event.type === 'CheckoutPaymentAuthorized' || event.type === 'CheckoutPaymentDeclined';
}

export class StepRefused extends BusinessRuleViolation {}

/** Whether the state already shows this event's fact: recording it again changes nothing. */
function alreadyRecorded(state: StartedCheckout, event: CheckoutEvent): boolean {
  switch (event.type) {
    case 'CheckoutItemsReserved':
      return event.data.items.every(({ sku }) => reservationOf(state, sku) !== undefined);
    // An item recorded reserved stays so until compensation: a stale reserve's report changes nothing.
    case 'CheckoutItemReserved':
    case 'CheckoutItemUnavailable':
      return reservationOf(state, event.data.sku) !== undefined;
    // An attempt begun is begun once: beginning it again on a stale read, after its outcome was
    // recorded, would reopen it (and let its time-out compensate a checkout being confirmed).
    case 'CheckoutPaymentAttempted':
      return state.payment.attempt >= event.data.attempt;
    // An attempt's outcome is news only while that attempt is open: a time-out decided on a
    // stale read, after the gateway's answer was recorded, must not overwrite it.
    case 'CheckoutPaymentFailed':
    case 'CheckoutPaymentTimedOut':
      return state.payment.attempt > event.data.attempt || (state.payment.status !== 'attempting' && state.payment.attempt === event.data.attempt);
    case 'CheckoutPaymentDeclined':
      return state.payment.status !== 'attempting';
    case 'CheckoutPaymentAuthorized':
      return state.payment.status === 'authorized' || state.payment.status === 'captured';
    case 'CheckoutPaymentCaptured':
      return state.payment.status === 'captured';
    case 'CheckoutOrderConfirmed':
      return state.confirmed;
    case 'CheckoutStockCommitted':
      return state.committed.includes(event.data.sku);
    case 'CheckoutPaymentVoided':
      return state.payment.status === 'voided';
    case 'CheckoutPaymentRefunded':
      return state.payment.status === 'refunded';
    case 'CheckoutItemReleased':
      return state.released.includes(event.data.sku);
    case 'CheckoutOrderCancelled':
      return state.cancelled;
    case 'CheckoutCompleted':
      return state.status === 'completed';
    default:
      return false;
  }
}

/**
 * Records a step's outcome on the saga's stream. Recording twice equals recording once; a
 * forward step that arrives after compensation began is refused, as is compensation once the
 * order is confirmed; a retry needs something to retry.
 */
export const recordCheckoutStep: Decider<CheckoutState, RecordCheckoutStep, CheckoutEvent> = {
  initialState: initialCheckout,
  evolve: evolveCheckout,
  decide: ({ data: event }, state) => {
    if (event.type === 'CheckoutStarted') return state.status === 'new' ? [event] : [];
    if (state.status === 'new') throw new StepRefused('checkout-not-started', `checkout of order ${event.data.orderId} has not started`);
    if (settlesOpenAttempt(state, event)) return [event];
    if (FORWARD.has(event.type)) {
      if (alreadyRecorded(state, event)) return [];
      if (state.status !== 'running') throw new StepRefused('forward-step-refused', `${event.type} refused: the checkout is ${state.status}`);
      return [event];
    }
    if (BACKWARD.has(event.type)) {
      if (alreadyRecorded(state, event) || state.status === 'compensated') return [];
      if (state.status !== 'compensating') throw new StepRefused('compensation-step-refused', `${event.type} refused: the checkout is ${state.status}`);
      return [event];
    }
    switch (event.type) {
      case 'CheckoutCompensationStarted':
        if (state.status === 'compensating' || state.status === 'compensated') return [];
        if (state.confirmed || state.status === 'completed') throw new StepRefused('checkout-confirmed', `order ${state.orderId} is confirmed: it can no longer be compensated`);
        return [event];
      case 'CheckoutStepFailed':
        return state.status === 'running' || state.status === 'compensating' ? [event] : [];
      case 'CheckoutRetried':
        if (state.status === 'failed' || (state.status === 'running' && state.payment.retryAt)) return [event];
        throw new StepRefused('nothing-to-retry', `checkout of order ${state.orderId} is ${state.status}: there is no step to retry`);
      default:
        return [];
    }
  },
};
