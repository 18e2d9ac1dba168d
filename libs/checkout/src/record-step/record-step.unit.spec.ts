import type { CheckoutEvent } from '../checkout';
import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { compensationStarted, itemReleased, itemReserved, itemsReserved, orderConfirmed, paymentAttempted, paymentAuthorized, paymentCaptured, started } from '../checkout.fixture';
import { recordCheckoutStep, StepRefused, type RecordCheckoutStep } from './record-step';

const record = (event: CheckoutEvent): RecordCheckoutStep => ({ type: 'RecordCheckoutStep', data: event, metadata: testCommandMetadata() });

describe('RecordCheckoutStep', () => {
  const spec = deciderSpec(recordCheckoutStep);

  it('records a step that fits', () => {
    spec.given([started()]).when(record(itemsReserved('A', 'B'))).then([itemsReserved('A', 'B')]);
  });

  it('records a step twice as once', () => {
    spec.given([started(), itemsReserved('A', 'B')]).when(record(itemsReserved('A', 'B'))).then([]);
    spec.given([started(), itemReserved('A'), itemReserved('B')]).when(record(itemsReserved('A', 'B'))).then([]);
    spec.given([started(), itemsReserved('A', 'B')]).when(record(paymentAttempted(1))).then([]);
    spec.given([started(), compensationStarted(), itemReleased('B')]).when(record(itemReleased('B'))).then([]);
    spec.given([started()]).when(record(started())).then([]);
  });

  it('ignores an attempt\'s time-out or decline once the gateway\'s answer is recorded', () => {
    const attempted = [started(), itemsReserved('A', 'B')];
    const timedOut: CheckoutEvent = { type: 'CheckoutPaymentTimedOut', data: { orderId: 'o-1', attempt: 1 } };
    const declined: CheckoutEvent = { type: 'CheckoutPaymentDeclined', data: { orderId: 'o-1', reason: 'card_declined' } };
    spec.given(attempted).when(record(timedOut)).then([timedOut]);
    spec.given([...attempted, paymentAuthorized()]).when(record(timedOut)).then([]);
    spec.given([...attempted, paymentAuthorized(), paymentCaptured()]).when(record(timedOut)).then([]);
    spec.given([...attempted, paymentAuthorized()]).when(record(declined)).then([]);
  });

  it('ignores an attempt begun again on a stale read once that attempt has an outcome, so the outcome stands', () => {
    const failedOnce: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: 'o-1', attempt: 1, error: 'unavailable', gaveUp: false, retryAt: '2026-01-01T00:00:01.000Z' } };
    const secondAuthorized = [started(), itemsReserved('A', 'B'), failedOnce, paymentAttempted(2), paymentAuthorized()];
    spec.given(secondAuthorized).when(record(paymentAttempted(2, '2026-01-01T00:01:00.000Z'))).then([]);
    spec.given([...secondAuthorized, paymentCaptured()]).when(record(paymentAttempted(2))).then([]);
    spec.given([started(), itemsReserved('A', 'B'), failedOnce]).when(record(paymentAttempted(1))).then([]);
    spec.given([started(), itemsReserved('A', 'B'), failedOnce]).when(record(paymentAttempted(2))).then([paymentAttempted(2)]);
  });

  it('ignores an item reported unavailable on a stale read once it is recorded reserved', () => {
    const unavailable: CheckoutEvent = { type: 'CheckoutItemUnavailable', data: { orderId: 'o-1', sku: 'B', reservationId: 'o-1:B', available: 0 } };
    spec.given([started(), itemsReserved('A', 'B'), paymentAuthorized()]).when(record(unavailable)).then([]);
    spec.given([started(), itemReserved('A')]).when(record(unavailable)).then([unavailable]);
  });

  it('refuses a forward step that arrives after compensation began', () => {
    spec.given([started(), compensationStarted()]).when(record(itemsReserved('A', 'B'))).thenThrows(StepRefused, /compensating/);
    spec.given([started(), itemsReserved('A', 'B'), compensationStarted()]).when(record(orderConfirmed())).thenThrows(StepRefused, /compensating/);
  });

  it('records what a payment attempt came to once compensation began while its answer was unknown, so what it holds can be voided', () => {
    spec.given([started(), itemsReserved('A', 'B'), compensationStarted()]).when(record(paymentAuthorized())).then([paymentAuthorized()]);
    // An attempt whose outcome is recorded is over: nothing more is taken as its answer.
    spec.given([started(), itemsReserved('A', 'B'), compensationStarted(), paymentAuthorized()]).when(record(orderConfirmed())).thenThrows(StepRefused, /compensating/);
    // Not an earlier attempt's time-out, nor a transient failure: the open attempt's answer is still unknown.
    const failedOnce: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: 'o-1', attempt: 1, error: 'unavailable', gaveUp: false, retryAt: '2026-01-01T00:00:01.000Z' } };
    const timedOut = (attempt: number): CheckoutEvent => ({ type: 'CheckoutPaymentTimedOut', data: { orderId: 'o-1', attempt } });
    const secondAttemptOpen = [started(), itemsReserved('A', 'B'), failedOnce, paymentAttempted(2), compensationStarted()];
    spec.given(secondAttemptOpen).when(record(timedOut(1))).then([]);
    spec.given(secondAttemptOpen).when(record(timedOut(2))).then([timedOut(2)]);
    spec.given(secondAttemptOpen).when(record({ ...failedOnce, data: { ...failedOnce.data, attempt: 2 } } as CheckoutEvent)).thenThrows(StepRefused, /compensating/);
  });

  it('compensating twice equals compensating once', () => {
    spec.given([started(), compensationStarted()]).when(record(compensationStarted('again', 'ops'))).then([]);
  });

  it('refuses compensation once the order is confirmed', () => {
    spec.given([started(), itemsReserved('A', 'B'), paymentAuthorized(), orderConfirmed()]).when(record(compensationStarted('too late', 'ops'))).thenThrows(StepRefused, /confirmed/);
  });

  it('refuses a compensation step while running forward', () => {
    spec.given([started(), itemsReserved('A', 'B')]).when(record(itemReleased('A'))).thenThrows(StepRefused, /running/);
  });

  it('retries only what failed or waits', () => {
    const retried: CheckoutEvent = { type: 'CheckoutRetried', data: { orderId: 'o-1', actor: 'ops', reason: 'again' } };
    spec.given([started()]).when(record(retried)).thenThrows(StepRefused, /no step to retry/);
    const failed: CheckoutEvent = { type: 'CheckoutStepFailed', data: { orderId: 'o-1', step: 'capture', error: 'refused' } };
    spec.given([started(), failed]).when(record(retried)).then([retried]);
  });
});
