import type { CheckoutEvent } from './checkout';

/** Histories for the specs of this context: order o-1 of two items, 2 × A at 500 and 1 × B at 1000. */
export const ORDER_ID = 'o-1';
const orderId = ORDER_ID;

export const started = (): CheckoutEvent => ({
  type: 'CheckoutStarted',
  data: {
    orderId,
    customerId: 'alice',
    items: [
      { sku: 'A', quantity: 2, unitPriceCents: 500 },
      { sku: 'B', quantity: 1, unitPriceCents: 1_000 },
    ],
    totalCents: 2_000,
    currency: 'USD',
    paymentToken: 'tok_visa',
  },
});
/** Every item reserved, and the first payment attempt begun with a deadline at 00:00:30. */
export const itemsReserved = (...skus: string[]): CheckoutEvent => ({
  type: 'CheckoutItemsReserved',
  data: { orderId, items: skus.map((sku) => ({ sku, reservationId: `${orderId}:${sku}` })), paymentDeadline: '2026-01-01T00:00:30.000Z' },
});
/** As the version before recorded its reservations: without the payment attempt, which it recorded apart. */
export const itemsReservedWithoutAttempt = (...skus: string[]): CheckoutEvent => ({ type: 'CheckoutItemsReserved', data: { orderId, items: skus.map((sku) => ({ sku, reservationId: `${orderId}:${sku}` })) } });
/** As a saga of an earlier version recorded its reservations: an item at a time. */
export const itemReserved = (sku: string): CheckoutEvent => ({ type: 'CheckoutItemReserved', data: { orderId, sku, reservationId: `${orderId}:${sku}` } });
export const paymentAttempted = (attempt: number, deadline = '2026-01-01T00:00:30.000Z'): CheckoutEvent => ({ type: 'CheckoutPaymentAttempted', data: { orderId, attempt, deadline } });
export const paymentAuthorized = (): CheckoutEvent => ({ type: 'CheckoutPaymentAuthorized', data: { orderId, authorizationId: 'auth_1' } });
/** As a saga of an earlier version recorded its capture. */
export const paymentCaptured = (): CheckoutEvent => ({ type: 'CheckoutPaymentCaptured', data: { orderId, authorizationId: 'auth_1' } });
export const orderConfirmed = (): CheckoutEvent => ({ type: 'CheckoutOrderConfirmed', data: { orderId } });
export const compensationStarted = (reason = 'payment declined: card_declined', actor = 'checkout'): CheckoutEvent => ({ type: 'CheckoutCompensationStarted', data: { orderId, reason, actor } });
export const itemReleased = (sku: string): CheckoutEvent => ({ type: 'CheckoutItemReleased', data: { orderId, sku } });
