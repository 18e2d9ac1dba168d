import { evolveCheckout, initialCheckout, type CheckoutEvent } from '../checkout';
import { compensationStarted, itemReleased, itemReserved, itemsReserved, itemsReservedWithoutAttempt, orderConfirmed, paymentAttempted, paymentAuthorized, paymentCaptured, started } from '../checkout.fixture';
import { nextStep, type OrderSignals } from './next-step';

const NOW = new Date('2026-01-01T00:00:10.000Z');
const after = (history: readonly CheckoutEvent[], order: OrderSignals = {}, now = NOW) => nextStep(history.reduce(evolveCheckout, initialCheckout()), order, now);
const forward = [started(), itemsReserved('A', 'B')];
const A = { item: { sku: 'A', quantity: 2, unitPriceCents: 500 }, reservationId: 'o-1:A' };
const B = { item: { sku: 'B', quantity: 1, unitPriceCents: 1_000 }, reservationId: 'o-1:B' };

describe('the checkout orchestration (nextStep)', () => {
  it('starts, then reserves every item at once', () => {
    expect(after([])).toEqual({ kind: 'start' });
    expect(after([started()])).toEqual({ kind: 'reserve', items: [A, B] });
  });

  it('authorizes once everything is reserved (the attempt begun with the reservation), then captures and confirms, then commits every item and completes', () => {
    expect(after(forward)).toEqual({ kind: 'authorize', attempt: 1, deadline: '2026-01-01T00:00:30.000Z' });
    expect(after([...forward, paymentAuthorized()])).toEqual({ kind: 'confirm', authorizationId: 'auth_1' });
    const confirmed = [...forward, paymentAuthorized(), orderConfirmed()];
    expect(after(confirmed)).toEqual({ kind: 'complete', items: [A, B] });
    expect(after([...confirmed, { type: 'CheckoutCompleted', data: { orderId: 'o-1' } }])).toEqual({ kind: 'idle' });
  });

  it('carries on a saga an earlier version recorded step by step', () => {
    // Reserved without the attempt: it is recorded with its deadline when the attempt begins.
    expect(after([started(), itemsReservedWithoutAttempt('A', 'B')])).toEqual({ kind: 'authorize', attempt: 1 });
    expect(after([started(), itemsReservedWithoutAttempt('A', 'B'), paymentAttempted(1)])).toEqual({ kind: 'authorize', attempt: 1, deadline: '2026-01-01T00:00:30.000Z' });
    expect(after([started(), itemReserved('A')])).toEqual({ kind: 'reserve', items: [B] });
    const legacy = [started(), itemReserved('A'), itemReserved('B'), paymentAttempted(1), paymentAuthorized()];
    expect(after(legacy)).toEqual({ kind: 'confirm', authorizationId: 'auth_1' });
    expect(after([...legacy, paymentCaptured()])).toEqual({ kind: 'confirm', authorizationId: 'auth_1' });
    const committedA: CheckoutEvent = { type: 'CheckoutStockCommitted', data: { orderId: 'o-1', sku: 'A' } };
    expect(after([...legacy, paymentCaptured(), orderConfirmed(), committedA])).toEqual({ kind: 'complete', items: [B] });
  });

  it('goes on with an attempt a crash interrupted, under its deadline, and times it out once the deadline passed', () => {
    const failed: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: 'o-1', attempt: 1, error: 'unavailable', gaveUp: false } };
    expect(after([...forward, failed, paymentAttempted(2, '2026-01-01T00:00:40.000Z')])).toEqual({ kind: 'authorize', attempt: 2, deadline: '2026-01-01T00:00:40.000Z' });
    expect(after(forward, {}, new Date('2026-01-01T00:00:30.000Z'))).toEqual({ kind: 'time-out', attempt: 1 });
  });

  it('waits after a transient failure until its retry time, then tries the next attempt', () => {
    const failed: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: 'o-1', attempt: 1, error: 'unavailable', retryAt: '2026-01-01T00:00:11.000Z', gaveUp: false } };
    expect(after([...forward, failed])).toEqual({ kind: 'wait', until: '2026-01-01T00:00:11.000Z' });
    expect(after([...forward, failed], {}, new Date('2026-01-01T00:00:11.000Z'))).toEqual({ kind: 'authorize', attempt: 2 });
  });

  it('compensates in reverse: void the authorization, release the items newest first, cancel the order, finish', () => {
    const compensating = [...forward, paymentAuthorized(), compensationStarted('cancelled by an operator', 'ops')];
    expect(after(compensating)).toEqual({ kind: 'void', authorizationId: 'auth_1' });
    const voided: CheckoutEvent = { type: 'CheckoutPaymentVoided', data: { orderId: 'o-1', authorizationId: 'auth_1' } };
    expect(after([...compensating, voided])).toEqual({ kind: 'release', sku: 'B', reservationId: 'o-1:B' });
    expect(after([...compensating, voided, itemReleased('B')])).toEqual({ kind: 'release', sku: 'A', reservationId: 'o-1:A' });
    const released = [...compensating, voided, itemReleased('B'), itemReleased('A')];
    expect(after(released)).toEqual({ kind: 'cancel', reason: 'cancelled by an operator' });
    const cancelled: CheckoutEvent = { type: 'CheckoutOrderCancelled', data: { orderId: 'o-1', reason: 'cancelled by an operator' } };
    expect(after([...released, cancelled])).toEqual({ kind: 'finish-compensation', reason: 'cancelled by an operator' });
  });

  it('refunds a captured payment when compensating', () => {
    expect(after([...forward, paymentAuthorized(), paymentCaptured(), compensationStarted()])).toEqual({ kind: 'refund', authorizationId: 'auth_1' });
  });

  it('releases every item, reserved or not, when stock ran out: a late reserve is closed by its release', () => {
    const unavailable: CheckoutEvent = { type: 'CheckoutItemUnavailable', data: { orderId: 'o-1', sku: 'B', reservationId: 'o-1:B', available: 0 } };
    expect(after([started(), unavailable])).toEqual({ kind: 'release', sku: 'B', reservationId: 'o-1:B' });
    expect(after([started(), compensationStarted()])).toEqual({ kind: 'release', sku: 'B', reservationId: 'o-1:B' });
  });

  it('turns a customer’s cancellation into compensation until the order is confirmed, and not after', () => {
    expect(after([...forward, paymentAuthorized()], { cancellationRequestedBy: 'alice' })).toEqual({ kind: 'compensate', reason: 'cancelled by the customer', actor: 'alice' });
    expect(after([...forward, paymentAuthorized(), orderConfirmed()], { cancellationRequestedBy: 'alice' })).toMatchObject({ kind: 'complete' });
  });

  it('reserves items whose skus are named like an object’s properties (constructor, __proto__): nothing is held until it is reserved', () => {
    const { data } = started() as Extract<CheckoutEvent, { type: 'CheckoutStarted' }>;
    const oddlyNamed: CheckoutEvent = { type: 'CheckoutStarted', data: { ...data, items: [{ sku: 'constructor', quantity: 1, unitPriceCents: 1 }, { sku: '__proto__', quantity: 1, unitPriceCents: 1 }] } };
    expect(after([oddlyNamed])).toMatchObject({ kind: 'reserve', items: [{ item: { sku: 'constructor' } }, { item: { sku: '__proto__' } }] });
    expect(after([oddlyNamed, itemsReserved('constructor', '__proto__')])).toMatchObject({ kind: 'authorize', attempt: 1 });
  });

  it('asks the gateway under an attempt’s key before it releases, when compensation began while the answer was unknown, and voids what it held', () => {
    expect(after([...forward, compensationStarted('cancelled by the customer', 'alice')])).toEqual({ kind: 'time-out', attempt: 1 });
    expect(after([...forward, compensationStarted('cancelled by the customer', 'alice'), paymentAuthorized()])).toEqual({ kind: 'void', authorizationId: 'auth_1' });
  });

  it('compensates for an operator’s cancellation with their reason', () => {
    expect(after([...forward, paymentAuthorized()], { cancellationRequestedBy: 'ops', cancellationReason: 'fraud suspected' })).toEqual({ kind: 'compensate', reason: 'fraud suspected', actor: 'ops' });
  });

  it('stays idle when a step failed, until an operator retries', () => {
    const failed: CheckoutEvent = { type: 'CheckoutStepFailed', data: { orderId: 'o-1', step: 'capture', error: 'refused' } };
    expect(after([...forward, paymentAuthorized(), failed])).toEqual({ kind: 'idle' });
    const retried: CheckoutEvent = { type: 'CheckoutRetried', data: { orderId: 'o-1', actor: 'ops', reason: 'gateway fixed' } };
    expect(after([...forward, paymentAuthorized(), failed, retried])).toEqual({ kind: 'confirm', authorizationId: 'auth_1' });
  });
});
