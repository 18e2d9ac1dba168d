import { randomUUID } from 'node:crypto';
import { createCommandHandler, uuidV7Ids, type EventToAppend } from '@tidings/core';
import { orderPlaced, orderStreamId, requestOrderCancellation } from '@tidings/orders';
import { useTestEventStore } from '@tidings/testing';
import { checkoutStreamId, type CheckoutEvent } from './checkout';
import { checkoutWithHistory, compensateCheckout, retryCheckout } from './checkout-admin';
import { claimDueCheckouts, deferCheckout, scheduleCheckouts, settleCheckouts } from './checkout-sagas.repository';
import { itemsReserved, ORDER_ID, started } from './checkout.fixture';
import { recordCheckoutStep, StepRefused } from './record-step/record-step';

describe('checkoutWithHistory', () => {
  const { store, pool } = useTestEventStore();

  it('shows the last error the saga met: a gateway failure from its history, a failed drive from its row', async () => {
    const gatewayFailure: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: ORDER_ID, attempt: 1, error: 'the gateway is unavailable (attempt 1)', retryAt: '2026-01-01T00:00:01.000Z', gaveUp: false } };
    const metadata = { correlationId: ORDER_ID, causationId: ORDER_ID, actor: 'checkout', schemaVersion: 1 };
    await store.append(checkoutStreamId(ORDER_ID), [started(), itemsReserved('A', 'B'), gatewayFailure].map((event) => ({ ...event, eventId: randomUUID(), metadata })), { expectedVersion: -1 });
    await scheduleCheckouts(pool, [ORDER_ID]);
    const sagaId = checkoutStreamId(ORDER_ID);
    // The row, written when a drive ends, has none yet: the history's status and attempts are shown.
    expect(await checkoutWithHistory(pool, store, sagaId)).toMatchObject({ status: 'running', attempts: 1, lastError: 'the gateway is unavailable (attempt 1)' });

    // A drive that fails records nothing in the history: until a drive settles again, its error is the last.
    const [claim] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    await deferCheckout(pool, claim, 'Connection terminated unexpectedly');
    expect(await checkoutWithHistory(pool, store, sagaId)).toMatchObject({ status: 'running', lastError: 'Connection terminated unexpectedly' });

    // The failed drive's backoff, over at once.
    await pool.query('UPDATE checkout_sagas SET due_at = now()');
    const [again] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    await settleCheckouts(pool, [{ claim: again, outcome: { status: 'running', step: 'payment retry', paymentAttempts: 1, lastError: 'the gateway is unavailable (attempt 1)' } }]);
    expect(await checkoutWithHistory(pool, store, sagaId)).toMatchObject({ status: 'running', lastError: 'the gateway is unavailable (attempt 1)' });
  });
});

describe('an operator’s retry and compensation', () => {
  const { store } = useTestEventStore();
  const run = createCommandHandler({ store, ids: uuidV7Ids });
  const operator = (commandId = randomUUID()) => ({ commandId, correlationId: 'request-1', actor: 'ops', now: new Date('2026-01-01T00:00:05Z') });
  const recorded = async (orderId: string) => (await store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
  const runningSaga = async () => {
    const orderId = randomUUID();
    const metadata = { correlationId: orderId, causationId: orderId, actor: 'checkout', schemaVersion: 1 };
    // A payment attempt failed and waits for its next: there is a step to retry.
    const paymentFailed: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId, attempt: 1, error: 'the gateway is unavailable (attempt 1)', retryAt: '2026-01-01T00:00:01.000Z', gaveUp: false } };
    const history = [started(), itemsReserved('A', 'B'), paymentFailed].map((event) => ({ ...event, data: { ...event.data, orderId }, eventId: randomUUID(), metadata }));
    await store.append(checkoutStreamId(orderId), history as EventToAppend[], { expectedVersion: -1 });
    await store.append(orderStreamId(orderId), [{ ...orderPlaced({ orderId }), eventId: randomUUID(), metadata }], { expectedVersion: 'no_stream' });
    return orderId;
  };

  it('records each once when asked again under the same command id (a request retried after a crash), and answers as the first time', async () => {
    const orderId = await runningSaga();
    const retry = operator();
    const first = await retryCheckout(run, orderId, 'gateway back', retry);
    const again = await retryCheckout(run, orderId, 'gateway back', retry);
    expect(again).toMatchObject({ events: [], repeated: true, position: first.position, version: first.version });

    const compensation = operator();
    const compensating = await compensateCheckout(run, orderId, 'customer called', compensation);
    await expect(compensateCheckout(run, orderId, 'customer called', compensation)).resolves.toMatchObject({ events: [], repeated: true, position: compensating.position });
    expect(await recorded(orderId)).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentFailed', 'CheckoutRetried', 'CheckoutCompensationStarted']);
    // The saga's correlation is its order's, whatever request asked.
    expect((await store.readStream(checkoutStreamId(orderId))).at(-1)?.metadata).toMatchObject({ correlationId: orderId, causationId: compensation.commandId, actor: 'ops' });
  });

  it('refuses a second compensation that is another command: the saga is compensating already', async () => {
    const orderId = await runningSaga();
    await compensateCheckout(run, orderId, 'customer called', operator());
    await expect(compensateCheckout(run, orderId, 'customer called again', operator())).rejects.toThrow(StepRefused);
    expect(await recorded(orderId)).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentFailed', 'CheckoutCompensationStarted']);
    // The order, which decides between its confirmation and its cancellation, was asked first, once, with the operator's reason.
    expect((await store.readStream(orderStreamId(orderId))).map(({ type, data }) => ({ type, data }))).toEqual([
      expect.objectContaining({ type: 'OrderPlaced' }),
      { type: 'OrderCancellationRequested', data: { orderId, requestedBy: 'ops', reason: 'customer called' } },
    ]);
  });

  it('answers a retry as done when the first try asked the order and the saga met the request before the try recorded it, If-Match or not', async () => {
    const orderId = await runningSaga();
    const compensation = operator();
    const versionSeen = (await store.readStream(checkoutStreamId(orderId))).length - 1;
    // The first try asked the order, then died; a drive met the request and began compensating in the operator's name.
    await run(requestOrderCancellation, orderStreamId(orderId), { type: 'RequestOrderCancellation', data: { orderId, requestedBy: 'ops', reason: 'customer called' }, metadata: compensation });
    const byTheSaga: CheckoutEvent = { type: 'CheckoutCompensationStarted', data: { orderId, reason: 'customer called', actor: 'ops' } };
    await run(recordCheckoutStep, checkoutStreamId(orderId), { type: 'RecordCheckoutStep', data: byTheSaga, metadata: operator() });

    await expect(compensateCheckout(run, orderId, 'customer called', compensation, { expectedVersion: versionSeen })).resolves.toMatchObject({ events: [] });
    await expect(compensateCheckout(run, orderId, 'customer called', compensation)).resolves.toMatchObject({ events: [] });
    // Another operator's request is still refused: compensation has begun.
    await expect(compensateCheckout(run, orderId, 'again', operator())).rejects.toThrow(StepRefused);
    expect(await recorded(orderId)).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentFailed', 'CheckoutCompensationStarted']);
  });
});
