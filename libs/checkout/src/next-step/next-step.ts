import { reservationIdOf, reservationOf, type CheckoutItem, type CheckoutState, type StartedCheckout } from '../checkout';

/** What the saga does next: a forward step, a compensation, waiting, or nothing more. */
export type Step =
  | Readonly<{ kind: 'start' }>
  | Readonly<{ kind: 'compensate'; reason: string; actor: string }>
  | Readonly<{ kind: 'reserve'; items: readonly Reservation[] }>
  | Readonly<{ kind: 'authorize'; attempt: number; deadline?: string }>
  | Readonly<{ kind: 'time-out'; attempt: number }>
  | Readonly<{ kind: 'wait'; until: string }>
  | Readonly<{ kind: 'confirm'; authorizationId: string }>
  | Readonly<{ kind: 'complete'; items: readonly Reservation[] }>
  | Readonly<{ kind: 'void'; authorizationId: string }>
  | Readonly<{ kind: 'refund'; authorizationId: string }>
  | Readonly<{ kind: 'release'; sku: string; reservationId: string }>
  | Readonly<{ kind: 'cancel'; reason: string }>
  | Readonly<{ kind: 'finish-compensation'; reason: string }>
  /** Terminal, or failed and waiting for an operator. */
  | Readonly<{ kind: 'idle' }>;

/** An item of the order, and the id its stock is reserved (and later committed or released) under. */
export type Reservation = Readonly<{ item: CheckoutItem; reservationId: string }>;

/** Why a checkout compensates when its order's cancellation was asked for without a reason. */
export const CANCELLED_BY_THE_CUSTOMER = 'cancelled by the customer';

/** Who asked for the order's cancellation and why, as the saga records its compensation; undefined while nobody has. */
export const compensationAsked = ({ cancellationRequestedBy, cancellationReason }: OrderSignals): { actor: string; reason: string } | undefined =>
  cancellationRequestedBy ? { actor: cancellationRequestedBy, reason: cancellationReason ?? CANCELLED_BY_THE_CUSTOMER } : undefined;

/** What the saga knows of its order besides its own stream: whether its customer (or an operator, with a reason) asked to cancel. */
export type OrderSignals = Readonly<{ cancellationRequestedBy?: string; cancellationReason?: string }>;

/**
 * The orchestration, as a pure function of the saga's state: reserve every item (together) →
 * authorize → capture and confirm the order → commit every item's stock and complete. A step's
 * effects carry ids derived from the saga, so a step taken again after a crash has its effects
 * once: the saga records only where its course can turn (reserved or not, the payment's
 * answer, the order confirmed). Once compensating, in reverse:
 * void or refund the payment → release what was reserved (newest first) → cancel the order.
 * A cancellation asked of the order (the customer's, an operator's) turns a running saga into
 * compensation until the order is confirmed; an attempt whose answer is unknown then is asked
 * about first, so what it holds is voided.
 */
export function nextStep(state: CheckoutState, order: OrderSignals, now: Date): Step {
  if (state.status === 'new') return { kind: 'start' };
  if (state.status === 'running') return forward(state, order, now);
  if (state.status === 'compensating') return backward(state);
  return { kind: 'idle' };
}

function forward(state: StartedCheckout, order: OrderSignals, now: Date): Step {
  const asked = compensationAsked(order);
  if (asked && !state.confirmed) return { kind: 'compensate', ...asked };
  const unreserved = state.items.filter((item) => reservationOf(state, item.sku) === undefined);
  if (unreserved.length) return { kind: 'reserve', items: reservationsOf(state, unreserved) };
  const { payment } = state;
  if (payment.status === 'attempting') {
    if (payment.deadline && now.getTime() >= Date.parse(payment.deadline)) return { kind: 'time-out', attempt: payment.attempt };
    // An attempt that a crash interrupted goes on under the same idempotency key, until its deadline.
    return { kind: 'authorize', attempt: payment.attempt, ...(payment.deadline ? { deadline: payment.deadline } : {}) };
  }
  if (payment.status === 'none') {
    if (payment.retryAt && now.getTime() < Date.parse(payment.retryAt)) return { kind: 'wait', until: payment.retryAt };
    return { kind: 'authorize', attempt: payment.attempt + 1 };
  }
  if (state.confirmed) return { kind: 'complete', items: reservationsOf(state, state.items.filter((item) => !state.committed.includes(item.sku))) };
  // Captured: a saga of an earlier version recorded its capture apart; capturing again under the same key changes nothing.
  if ((payment.status === 'authorized' || payment.status === 'captured') && payment.authorizationId) return { kind: 'confirm', authorizationId: payment.authorizationId };
  // A running saga has no other payment state here: nothing to do rather than a step that would not fit.
  return { kind: 'idle' };
}

const reservationsOf = (state: StartedCheckout, items: readonly CheckoutItem[]): Reservation[] =>
  items.map((item) => ({ item, reservationId: reservationIdOf(state.orderId, item.sku) }));

function backward(state: StartedCheckout): Step {
  const { payment } = state;
  // An attempt whose answer is unknown (its drive was killed at the gateway) may hold an authorization: the gateway is asked under its key first, and what it held is voided.
  if (payment.status === 'attempting') return { kind: 'time-out', attempt: payment.attempt };
  if (payment.status === 'authorized' && payment.authorizationId) return { kind: 'void', authorizationId: payment.authorizationId };
  if (payment.status === 'captured' && payment.authorizationId) return { kind: 'refund', authorizationId: payment.authorizationId };
  // Every item the saga may have reserved, even one whose reserve it never heard back from: its release closes the reservation.
  const unreleased = [...state.items].reverse().find((item) => !state.released.includes(item.sku) && !state.committed.includes(item.sku));
  if (unreleased) return { kind: 'release', sku: unreleased.sku, reservationId: reservationIdOf(state.orderId, unreleased.sku) };
  const reason = state.compensation?.reason ?? 'compensated';
  if (!state.cancelled) return { kind: 'cancel', reason };
  return { kind: 'finish-compensation', reason };
}
