import type { Message } from '@tidings/core';

/** One stream per order's payment, `payment-<orderId>`: what the gateway answered, as facts. */
export const paymentStreamId = (orderId: string): string => `payment-${orderId}`;

export type PaymentAuthorized = Message<'PaymentAuthorized', { orderId: string; authorizationId: string; amountCents: number; currency: string }>;
export type PaymentDeclined = Message<'PaymentDeclined', { orderId: string; reason: string }>;
/** A gateway call that got no answer (unavailable, timed out); the step is retried under the same key. */
export type PaymentAttemptFailed = Message<
  'PaymentAttemptFailed',
  { orderId: string; operation: 'authorize' | 'capture' | 'void' | 'refund'; attempt: number; error: string }
>;
export type PaymentCaptured = Message<'PaymentCaptured', { orderId: string; authorizationId: string; amountCents: number }>;
export type PaymentVoided = Message<'PaymentVoided', { orderId: string; authorizationId: string }>;
export type PaymentRefunded = Message<'PaymentRefunded', { orderId: string; authorizationId: string; amountCents: number }>;

export type PaymentEvent = PaymentAuthorized | PaymentDeclined | PaymentAttemptFailed | PaymentCaptured | PaymentVoided | PaymentRefunded;

export type PaymentStatus = 'none' | 'authorized' | 'declined' | 'captured' | 'voided' | 'refunded';

export type Payment = Readonly<{
  status: PaymentStatus;
  orderId?: string;
  authorizationId?: string;
  /** The authorized amount. */
  amountCents?: number;
  currency?: string;
  failedAttempts: number;
}>;

export const initialPayment = (): Payment => ({ status: 'none', failedAttempts: 0 });

export function evolvePayment(payment: Payment, event: PaymentEvent): Payment {
  switch (event.type) {
    case 'PaymentAuthorized':
      return { ...payment, ...event.data, status: 'authorized' };
    case 'PaymentDeclined':
      return { ...payment, orderId: event.data.orderId, status: 'declined' };
    case 'PaymentAttemptFailed':
      return { ...payment, orderId: event.data.orderId, failedAttempts: payment.failedAttempts + 1 };
    case 'PaymentCaptured':
      return { ...payment, status: 'captured' };
    case 'PaymentVoided':
      return { ...payment, status: 'voided' };
    case 'PaymentRefunded':
      return { ...payment, status: 'refunded' };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
