import { BusinessRuleViolation } from '@tidings/core';
import type { Payment, PaymentEvent } from './payments';

/** The fact cannot follow the payment's history (e.g. a capture of a voided authorization). */
export class PaymentTransitionRefused extends BusinessRuleViolation {
  constructor(
    readonly status: Payment['status'],
    readonly eventType: PaymentEvent['type'],
  ) {
    super('payment-transition-refused', `a ${status === 'none' ? 'new' : status} payment cannot record ${eventType}`);
  }
}
