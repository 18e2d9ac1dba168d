import { randomUUID } from 'node:crypto';
import { useTestEventStore } from '@tidings/testing';
import { checkoutStreamId, type CheckoutEvent } from './checkout';
import { checkoutWithHistory } from './checkout-admin';
import { claimDueCheckouts, deferCheckout, scheduleCheckouts, settleCheckouts } from './checkout-sagas.repository';
import { itemsReserved, ORDER_ID, started } from './checkout.fixture';

describe('checkoutWithHistory', () => {
  const { store, pool } = useTestEventStore();

  it('shows the last error the saga met: a gateway failure from its history, a failed drive from its row', async () => {
    const gatewayFailure: CheckoutEvent = { type: 'CheckoutPaymentFailed', data: { orderId: ORDER_ID, attempt: 1, error: 'the gateway is unavailable (attempt 1)', retryAt: '2026-01-01T00:00:01.000Z', gaveUp: false } };
    const metadata = { correlationId: ORDER_ID, causationId: ORDER_ID, actor: 'checkout', schemaVersion: 1 };
    await store.append(checkoutStreamId(ORDER_ID), [started(), itemsReserved('A', 'B'), gatewayFailure].map((event) => ({ ...event, eventId: randomUUID(), metadata })), { expectedVersion: -1 });
    await scheduleCheckouts(pool, [ORDER_ID]);
    const sagaId = checkoutStreamId(ORDER_ID);
    expect(await checkoutWithHistory(pool, store, sagaId)).toMatchObject({ status: 'running', lastError: 'the gateway is unavailable (attempt 1)' });

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
