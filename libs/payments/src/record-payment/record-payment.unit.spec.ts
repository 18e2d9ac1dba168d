import { BusinessRuleViolation } from '@tidings/core';
import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { PaymentTransitionRefused } from '../errors';
import { initialPayment, type PaymentEvent } from '../payments';
import { attemptFailed, authorized, captured, declined, refunded, voided } from '../payments.fixture';
import { recordPayment, type RecordPayment } from './record-payment';

const record = (event: PaymentEvent): RecordPayment => ({ type: 'RecordPayment', data: { event }, metadata: testCommandMetadata() });

describe('RecordPayment', () => {
  const spec = deciderSpec(recordPayment);

  it('refuses an illegal transition as a business rule violation (HTTP 422)', () => {
    expect(() => recordPayment.decide(record(captured()), initialPayment())).toThrow(BusinessRuleViolation);
    expect(new PaymentTransitionRefused('none', 'PaymentCaptured').code).toBe('payment-transition-refused');
  });

  describe('authorization', () => {
    it('records an authorization of a new payment', () => {
      spec.given([]).when(record(authorized())).then([authorized()]);
    });

    it('records an authorization after failed attempts', () => {
      spec.given([attemptFailed('authorize', 1), attemptFailed('authorize', 2)]).when(record(authorized())).then([authorized()]);
    });

    it('records the same authorization once when it arrives twice', () => {
      spec.given([authorized()]).when(record(authorized())).then([]);
    });

    it('records nothing when an authorization arrives again after its capture', () => {
      spec.given([authorized(), captured()]).when(record(authorized())).then([]);
    });

    it('refuses a second, different authorization', () => {
      spec.given([authorized('auth_1')]).when(record(authorized('auth_2'))).thenThrows(PaymentTransitionRefused, /authorized payment cannot record PaymentAuthorized/);
    });

    it('refuses an authorization after a decline', () => {
      spec.given([declined()]).when(record(authorized())).thenThrows(PaymentTransitionRefused);
    });

    it('refuses a new authorization after a void', () => {
      spec.given([authorized('auth_1'), voided('auth_1')]).when(record(authorized('auth_2'))).thenThrows(PaymentTransitionRefused);
    });
  });

  describe('decline', () => {
    it('records a decline of a new payment', () => {
      spec.given([]).when(record(declined())).then([declined()]);
    });

    it('records a decline once when it arrives twice', () => {
      spec.given([declined()]).when(record(declined())).then([]);
    });

    it('refuses a decline of an authorized payment', () => {
      spec.given([authorized()]).when(record(declined())).thenThrows(PaymentTransitionRefused);
    });
  });

  describe('failed attempts', () => {
    it('records every failed attempt of an open payment, even a repeated one', () => {
      spec.given([attemptFailed('authorize', 1)]).when(record(attemptFailed('authorize', 1))).then([attemptFailed('authorize', 1)]);
      spec.given([authorized()]).when(record(attemptFailed('capture', 3))).then([attemptFailed('capture', 3)]);
    });

    it('records a failed refund attempt of a captured payment', () => {
      spec.given([authorized(), captured()]).when(record(attemptFailed('refund'))).then([attemptFailed('refund')]);
    });

    it('refuses a failed capture attempt of a captured payment', () => {
      spec.given([authorized(), captured()]).when(record(attemptFailed('capture'))).thenThrows(PaymentTransitionRefused);
    });

    it('refuses a failed attempt once the payment is final', () => {
      spec.given([declined()]).when(record(attemptFailed('authorize'))).thenThrows(PaymentTransitionRefused);
      spec.given([authorized(), voided()]).when(record(attemptFailed('void'))).thenThrows(PaymentTransitionRefused);
      spec.given([authorized(), captured(), refunded()]).when(record(attemptFailed('refund'))).thenThrows(PaymentTransitionRefused);
    });
  });

  describe('capture', () => {
    it('records the capture of the authorization', () => {
      spec.given([authorized()]).when(record(captured())).then([captured()]);
    });

    it('records a capture once when it arrives twice', () => {
      spec.given([authorized(), captured()]).when(record(captured())).then([]);
    });

    it('refuses a capture of a payment that was never authorized', () => {
      spec.given([]).when(record(captured())).thenThrows(PaymentTransitionRefused, /new payment cannot record PaymentCaptured/);
    });

    it('refuses a capture of another authorization', () => {
      spec.given([authorized('auth_1')]).when(record(captured('auth_2'))).thenThrows(PaymentTransitionRefused);
    });

    it('refuses a capture after a void', () => {
      spec.given([authorized(), voided()]).when(record(captured())).thenThrows(PaymentTransitionRefused);
    });
  });

  describe('void', () => {
    it('records the void of the authorization', () => {
      spec.given([authorized()]).when(record(voided())).then([voided()]);
    });

    it('records a void once when it arrives twice', () => {
      spec.given([authorized(), voided()]).when(record(voided())).then([]);
    });

    it('refuses a void after a capture (the money moved: refund it instead)', () => {
      spec.given([authorized(), captured()]).when(record(voided())).thenThrows(PaymentTransitionRefused, /captured payment cannot record PaymentVoided/);
    });

    it('refuses a void of a declined payment', () => {
      spec.given([declined()]).when(record(voided())).thenThrows(PaymentTransitionRefused);
    });
  });

  describe('refund', () => {
    it('records the refund of a capture', () => {
      spec.given([authorized(), captured()]).when(record(refunded())).then([refunded()]);
    });

    it('records a refund once when it arrives twice', () => {
      spec.given([authorized(), captured(), refunded()]).when(record(refunded())).then([]);
    });

    it('refuses a refund before the capture', () => {
      spec.given([authorized()]).when(record(refunded())).thenThrows(PaymentTransitionRefused, /authorized payment cannot record PaymentRefunded/);
    });

    it('refuses a refund of a voided payment', () => {
      spec.given([authorized(), voided()]).when(record(refunded())).thenThrows(PaymentTransitionRefused);
    });
  });
});
