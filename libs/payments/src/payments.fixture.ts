import type { PaymentAttemptFailed, PaymentEvent } from './payments';

/** Histories for the specs of this context: one order, one authorization. */
export const ORDER_ID = 'order-1';
export const AUTHORIZATION_ID = 'auth_1';

export const authorized = (authorizationId = AUTHORIZATION_ID, amountCents = 2500): PaymentEvent => ({
  type: 'PaymentAuthorized',
  data: { orderId: ORDER_ID, authorizationId, amountCents, currency: 'USD' },
});
export const declined = (reason = 'card_declined'): PaymentEvent => ({ type: 'PaymentDeclined', data: { orderId: ORDER_ID, reason } });
export const attemptFailed = (operation: PaymentAttemptFailed['data']['operation'], attempt = 1): PaymentEvent => ({
  type: 'PaymentAttemptFailed',
  data: { orderId: ORDER_ID, operation, attempt, error: 'gateway unavailable' },
});
export const captured = (authorizationId = AUTHORIZATION_ID, amountCents = 2500): PaymentEvent => ({
  type: 'PaymentCaptured',
  data: { orderId: ORDER_ID, authorizationId, amountCents },
});
export const voided = (authorizationId = AUTHORIZATION_ID): PaymentEvent => ({ type: 'PaymentVoided', data: { orderId: ORDER_ID, authorizationId } });
export const refunded = (authorizationId = AUTHORIZATION_ID, amountCents = 2500): PaymentEvent => ({
  type: 'PaymentRefunded',
  data: { orderId: ORDER_ID, authorizationId, amountCents },
});
