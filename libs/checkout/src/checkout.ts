import type { Message } from '@tidings/core';

/** One workflow stream per order, `checkout-<orderId>`: what the saga did, step by step. */
export const checkoutStreamId = (orderId: string): string => `checkout-${orderId}`;
export const orderIdOfCheckout = (streamId: string): string => streamId.slice('checkout-'.length);

export type CheckoutItem = Readonly<{ sku: string; quantity: number; unitPriceCents: number }>;

type Checkout<Type extends string, Data = object> = Message<Type, Readonly<{ orderId: string } & Data>>;

export type CheckoutStarted = Checkout<
  'CheckoutStarted',
  { customerId: string; items: readonly CheckoutItem[]; totalCents: number; currency: string; paymentToken: string }
>;
/**
 * Every item of the order is reserved, each under its reservation id, and the first authorization
 * attempt begins: it times out at `paymentDeadline` (ISO). Earlier versions recorded that attempt
 * apart (CheckoutPaymentAttempted) and carry no deadline here.
 */
export type CheckoutItemsReserved = Checkout<'CheckoutItemsReserved', { items: readonly Readonly<{ sku: string; reservationId: string }>[]; paymentDeadline?: string }>;
/** One item reserved: recorded by earlier versions, which reserved item by item; still read. */
export type CheckoutItemReserved = Checkout<'CheckoutItemReserved', { sku: string; reservationId: string }>;
export type CheckoutItemUnavailable = Checkout<'CheckoutItemUnavailable', { sku: string; reservationId: string; available: number }>;
/** An authorization attempt after a transient failure began; it times out at `deadline` (ISO) if the gateway has not answered. */
export type CheckoutPaymentAttempted = Checkout<'CheckoutPaymentAttempted', { attempt: number; deadline: string }>;
export type CheckoutPaymentAuthorized = Checkout<'CheckoutPaymentAuthorized', { authorizationId: string }>;
export type CheckoutPaymentDeclined = Checkout<'CheckoutPaymentDeclined', { reason: string }>;
/** A transient gateway failure: tried again at `retryAt` (ISO), or, when `gaveUp`, compensated. */
export type CheckoutPaymentFailed = Checkout<'CheckoutPaymentFailed', { attempt: number; error: string; retryAt?: string; gaveUp: boolean }>;
export type CheckoutPaymentTimedOut = Checkout<'CheckoutPaymentTimedOut', { attempt: number }>;
/** Recorded by earlier versions between capture and confirmation; still read. The capture is on the payment stream. */
export type CheckoutPaymentCaptured = Checkout<'CheckoutPaymentCaptured', { authorizationId: string }>;
export type CheckoutOrderConfirmed = Checkout<'CheckoutOrderConfirmed'>;
/** Recorded by earlier versions, an item at a time, before CheckoutCompleted; still read. */
export type CheckoutStockCommitted = Checkout<'CheckoutStockCommitted', { sku: string }>;
/** The order is confirmed and every item's stock committed (sold): the checkout succeeded. */
export type CheckoutCompleted = Checkout<'CheckoutCompleted'>;
export type CheckoutCompensationStarted = Checkout<'CheckoutCompensationStarted', { reason: string; actor: string }>;
export type CheckoutPaymentVoided = Checkout<'CheckoutPaymentVoided', { authorizationId: string }>;
export type CheckoutPaymentRefunded = Checkout<'CheckoutPaymentRefunded', { authorizationId: string }>;
export type CheckoutItemReleased = Checkout<'CheckoutItemReleased', { sku: string }>;
export type CheckoutOrderCancelled = Checkout<'CheckoutOrderCancelled', { reason: string }>;
export type CheckoutCompensated = Checkout<'CheckoutCompensated', { reason: string }>;
/** A step failed in a way retrying will not fix by itself: the saga waits for an operator. */
export type CheckoutStepFailed = Checkout<'CheckoutStepFailed', { step: string; error: string }>;
export type CheckoutRetried = Checkout<'CheckoutRetried', { actor: string; reason: string }>;

export type CheckoutEvent =
  | CheckoutStarted
  | CheckoutItemsReserved
  | CheckoutItemReserved
  | CheckoutItemUnavailable
  | CheckoutPaymentAttempted
  | CheckoutPaymentAuthorized
  | CheckoutPaymentDeclined
  | CheckoutPaymentFailed
  | CheckoutPaymentTimedOut
  | CheckoutPaymentCaptured
  | CheckoutOrderConfirmed
  | CheckoutStockCommitted
  | CheckoutCompleted
  | CheckoutCompensationStarted
  | CheckoutPaymentVoided
  | CheckoutPaymentRefunded
  | CheckoutItemReleased
  | CheckoutOrderCancelled
  | CheckoutCompensated
  | CheckoutStepFailed
  | CheckoutRetried;

export const SAGA_STATUSES = ['running', 'compensating', 'completed', 'compensated', 'failed'] as const;
export type SagaStatus = (typeof SAGA_STATUSES)[number];

export type PaymentProgress = Readonly<{
  status: 'none' | 'attempting' | 'authorized' | 'captured' | 'declined' | 'timed-out' | 'unavailable' | 'voided' | 'refunded';
  attempt: number;
  authorizationId?: string;
  /** While attempting: when the attempt times out. */
  deadline?: string;
  /** After a transient failure: when to try again. */
  retryAt?: string;
}>;

export type CheckoutState =
  | Readonly<{ status: 'new' }>
  | Readonly<{
      status: SagaStatus;
      orderId: string;
      customerId: string;
      items: readonly CheckoutItem[];
      totalCents: number;
      currency: string;
      paymentToken: string;
      /** sku → reservation id, for items whose stock is held. */
      reserved: Readonly<Record<string, string>>;
      payment: PaymentProgress;
      confirmed: boolean;
      committed: readonly string[];
      released: readonly string[];
      cancelled: boolean;
      compensation?: Readonly<{ reason: string; actor: string }>;
      /** While failed: the step that failed and the mode to resume in. */
      failure?: Readonly<{ step: string; error: string; resume: 'running' | 'compensating' }>;
      /** The last error the saga met (a transient payment failure, a timed-out attempt, a failed step), kept once it has gone on. */
      lastError?: string;
    }>;

/** Where a saga stays until an operator acts: ended (completed, compensated), or failed. */
export type SettledStatus = 'completed' | 'compensated' | 'failed';

export const isSettled = (status: string): status is SettledStatus => status === 'completed' || status === 'compensated' || status === 'failed';

/** The order's status once its saga has settled: `failed` while a failed step waits for an operator. */
export const orderStatusOnceSettled = (saga: SettledStatus): 'confirmed' | 'cancelled' | 'failed' =>
  saga === 'completed' ? 'confirmed' : saga === 'compensated' ? 'cancelled' : 'failed';

export type StartedCheckout = Exclude<CheckoutState, { status: 'new' }>;

/** The id an item's stock is held under, if it is: own keys only, as a sku may be named like an object's property (`constructor`). */
export const reservationOf = (state: StartedCheckout, sku: string): string | undefined => (Object.hasOwn(state.reserved, sku) ? state.reserved[sku] : undefined);

export const initialCheckout = (): CheckoutState => ({ status: 'new' });

/** Deterministic per order and sku: a redelivered reserve, release or commit names the same reservation. */
export const reservationIdOf = (orderId: string, sku: string): string => `${orderId}:${sku}`;

/** Compensation begins with its reason and who asked; an attempt's answer that comes once it has begun leaves them as they were. */
const compensating = (state: StartedCheckout, reason: string, actor = 'checkout'): StartedCheckout => ({
  ...state,
  status: 'compensating',
  compensation: state.status === 'compensating' && state.compensation ? state.compensation : { reason, actor },
});

export function evolveCheckout(state: CheckoutState, event: CheckoutEvent): CheckoutState {
  if (event.type === 'CheckoutStarted') {
    const { orderId, customerId, items, totalCents, currency, paymentToken } = event.data;
    return { status: 'running', orderId, customerId, items, totalCents, currency, paymentToken, reserved: {}, payment: { status: 'none', attempt: 0 }, confirmed: false, committed: [], released: [], cancelled: false };
  }
  if (state.status === 'new') return state;
  const payment = (progress: Partial<PaymentProgress> & Pick<PaymentProgress, 'status'>): StartedCheckout => ({ ...state, payment: { attempt: state.payment.attempt, authorizationId: state.payment.authorizationId, ...progress } });
  switch (event.type) {
    case 'CheckoutItemsReserved': {
      const reserved = { ...state, reserved: { ...state.reserved, ...Object.fromEntries(event.data.items.map(({ sku, reservationId }) => [sku, reservationId])) } };
      const { paymentDeadline } = event.data;
      return paymentDeadline && state.payment.status === 'none' ? { ...reserved, payment: { status: 'attempting', attempt: state.payment.attempt + 1, deadline: paymentDeadline } } : reserved;
    }
    case 'CheckoutItemReserved':
      return { ...state, reserved: { ...state.reserved, [event.data.sku]: event.data.reservationId } };
    case 'CheckoutItemUnavailable':
      return compensating(state, `insufficient stock of ${event.data.sku} (${event.data.available} available)`);
    case 'CheckoutPaymentAttempted':
      return payment({ status: 'attempting', attempt: event.data.attempt, deadline: event.data.deadline });
    case 'CheckoutPaymentAuthorized':
      return payment({ status: 'authorized', authorizationId: event.data.authorizationId });
    case 'CheckoutPaymentDeclined':
      return compensating(payment({ status: 'declined' }), `payment declined: ${event.data.reason}`);
    case 'CheckoutPaymentFailed': {
      const failed = { ...payment({ status: event.data.gaveUp ? 'unavailable' : 'none', ...(event.data.retryAt ? { retryAt: event.data.retryAt } : {}) }), lastError: event.data.error };
      return event.data.gaveUp ? compensating(failed, `payment unavailable after ${event.data.attempt} attempts: ${event.data.error}`) : failed;
    }
    case 'CheckoutPaymentTimedOut': {
      const timedOut = `payment timed out (attempt ${event.data.attempt})`;
      return compensating({ ...payment({ status: 'timed-out' }), lastError: timedOut }, timedOut);
    }
    case 'CheckoutPaymentCaptured':
      return payment({ status: 'captured' });
    case 'CheckoutOrderConfirmed':
      return { ...state, confirmed: true };
    case 'CheckoutStockCommitted':
      return { ...state, committed: [...state.committed, event.data.sku] };
    case 'CheckoutCompleted':
      return { ...state, status: 'completed' };
    case 'CheckoutCompensationStarted':
      return compensating(state, event.data.reason, event.data.actor);
    case 'CheckoutPaymentVoided':
      return payment({ status: 'voided' });
    case 'CheckoutPaymentRefunded':
      return payment({ status: 'refunded' });
    case 'CheckoutItemReleased':
      return { ...state, released: [...state.released, event.data.sku] };
    case 'CheckoutOrderCancelled':
      return { ...state, cancelled: true };
    case 'CheckoutCompensated':
      return { ...state, status: 'compensated' };
    case 'CheckoutStepFailed':
      return { ...state, status: 'failed', failure: { step: event.data.step, error: event.data.error, resume: state.status === 'compensating' ? 'compensating' : 'running' }, lastError: event.data.error };
    case 'CheckoutRetried': {
      const { failure, payment, ...rest } = state;
      const { retryAt: _skipped, ...paymentNow } = payment;
      return { ...rest, status: failure?.resume ?? state.status, payment: paymentNow };
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
