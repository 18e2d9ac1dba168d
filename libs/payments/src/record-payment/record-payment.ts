import type { Command, Decider } from '@tidings/core';
import { PaymentTransitionRefused } from '../errors';
import { evolvePayment, initialPayment, type Payment, type PaymentEvent } from '../payments';

/** Records what the gateway answered; the checkout saga sends it after each gateway call. */
export type RecordPayment = Command<'RecordPayment', { event: PaymentEvent }>;

export const recordPayment: Decider<Payment, RecordPayment, PaymentEvent> = {
  initialState: initialPayment,
  evolve: evolvePayment,
  decide: ({ data: { event } }, payment) => {
    if (alreadyRecorded(payment, event)) return [];
    if (!canFollow(payment, event)) throw new PaymentTransitionRefused(payment.status, event.type);
    return [event];
  },
};

/** The history already holds this fact: a redelivered or retried step records nothing twice. */
function alreadyRecorded(payment: Payment, event: PaymentEvent): boolean {
  const sameAuthorization = 'authorizationId' in event.data && event.data.authorizationId === payment.authorizationId;
  switch (event.type) {
    case 'PaymentAuthorized':
      return sameAuthorization;
    case 'PaymentDeclined':
      return payment.status === 'declined';
    case 'PaymentAttemptFailed':
      return false;
    case 'PaymentCaptured':
      return sameAuthorization && (payment.status === 'captured' || payment.status === 'refunded');
    case 'PaymentVoided':
      return sameAuthorization && payment.status === 'voided';
    case 'PaymentRefunded':
      return sameAuthorization && payment.status === 'refunded';
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** The gateway's state machine as the order sees it: declined, voided and refunded are final. */
function canFollow(payment: Payment, event: PaymentEvent): boolean {
  switch (event.type) {
    case 'PaymentAuthorized':
    case 'PaymentDeclined':
      return payment.status === 'none';
    case 'PaymentAttemptFailed':
      // A captured payment still has one operation left to fail: its refund.
      return payment.status === 'none' || payment.status === 'authorized' || (payment.status === 'captured' && event.data.operation === 'refund');
    case 'PaymentCaptured':
    case 'PaymentVoided':
      return payment.status === 'authorized' && event.data.authorizationId === payment.authorizationId;
    case 'PaymentRefunded':
      return payment.status === 'captured' && event.data.authorizationId === payment.authorizationId;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
