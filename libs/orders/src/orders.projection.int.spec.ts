import type { RecordedEvent } from '@tidings/core';
import { ensureProjection, inTransaction, tablesOf } from '@tidings/read-models';
import { recordedStreams, useTestDatabase } from '@tidings/testing';
import { orderStreamId } from './orders';
import { cancellationRequested, orderCancelled, orderConfirmed, orderPlaced } from './orders.fixture';
import { ordersProjection, type OrderRecord } from './orders.projection';
import { findOrder, listOrders } from './orders.queries';

/** A stream's events as the store would record them: versions in order, positions increasing across streams. */
const stream = recordedStreams();
const orderStream = (orderId: string) => stream(orderStreamId(orderId));
const paymentStream = (orderId: string) => {
  const append = stream(`payment-${orderId}`);
  return (type: string, recordedAt?: string) => append({ type, data: { orderId, paymentId: `pay-${orderId}` } }, recordedAt);
};

describe('orders projection on PostgreSQL', () => {
  const { pool } = useTestDatabase();
  beforeAll(async () => {
    await ensureProjection(pool, ordersProjection);
  });

  const apply = (...events: RecordedEvent[]) => inTransaction(pool, (db) => ordersProjection.apply(db, events, tablesOf(ordersProjection, 1)));
  const rawRow = async (orderId: string) => (await pool.query<OrderRecord>('SELECT * FROM orders WHERE order_id = $1', [orderId])).rows[0];

  it('shows a placed order, then confirmed, with the order stream version and the time of its last event', async () => {
    const order = orderStream('confirmed-1');
    await apply(order(orderPlaced({ orderId: 'confirmed-1' }), '2026-01-01T10:00:00.000Z'));
    expect(await findOrder(pool, 'confirmed-1')).toEqual({
      orderId: 'confirmed-1',
      customerId: 'user-1',
      status: 'placed',
      items: [
        { sku: 'SKU-1', quantity: 2, unitPriceCents: 1299 },
        { sku: 'SKU-2', quantity: 1, unitPriceCents: 500 },
      ],
      subtotalCents: 3098,
      taxCents: 620,
      totalCents: 3718,
      currency: 'USD',
      payment: { status: 'none' },
      version: 0,
      updatedAt: '2026-01-01T10:00:00.000Z',
    });

    await apply(order(orderConfirmed('confirmed-1'), '2026-01-01T10:00:05.000Z'));
    expect(await findOrder(pool, 'confirmed-1')).toMatchObject({ status: 'confirmed', version: 1, updatedAt: '2026-01-01T10:00:05.000Z' });
    expect(await rawRow('confirmed-1')).toMatchObject({ placed_at: new Date('2026-01-01T10:00:00.000Z') });
  });

  it('keeps a payment event applied before its order is, and follows the payment after', async () => {
    const order = orderStream('paid-1');
    const payment = paymentStream('paid-1');
    const placed = order(orderPlaced({ orderId: 'paid-1' }), '2026-01-01T11:00:00.000Z');
    // Another partition delivered the payment stream first.
    await apply(payment('PaymentAuthorized', '2026-01-01T11:00:01.000Z'));
    expect(await findOrder(pool, 'paid-1')).toBeUndefined();

    await apply(placed);
    expect(await findOrder(pool, 'paid-1')).toMatchObject({ status: 'placed', payment: { status: 'authorized' }, updatedAt: '2026-01-01T11:00:01.000Z' });

    await apply(payment('PaymentAttemptFailed', '2026-01-01T11:00:02.000Z'), payment('PaymentCaptured', '2026-01-01T11:00:03.000Z'), order(orderConfirmed('paid-1')));
    expect(await findOrder(pool, 'paid-1')).toMatchObject({ status: 'confirmed', payment: { status: 'captured' }, updatedAt: '2026-01-01T11:00:03.000Z' });
  });

  it('shows a cancelled order with its reason', async () => {
    const order = orderStream('cancelled-1');
    const payment = paymentStream('cancelled-1');
    await apply(
      order(orderPlaced({ orderId: 'cancelled-1' })),
      order(cancellationRequested('cancelled-1')),
      payment('PaymentAuthorized'),
      payment('PaymentVoided'),
      order(orderCancelled('customer asked', 'cancelled-1')),
    );
    expect(await findOrder(pool, 'cancelled-1')).toMatchObject({ status: 'cancelled', cancellationReason: 'customer asked', payment: { status: 'voided' }, version: 2 });
  });

  it('changes nothing when older events are delivered again', async () => {
    const order = orderStream('redelivered-1');
    const payment = paymentStream('redelivered-1');
    const placed = order(orderPlaced({ orderId: 'redelivered-1' }));
    const authorized = payment('PaymentAuthorized');
    const confirmed = order(orderConfirmed('redelivered-1'), '2026-01-02T00:00:00.000Z');
    const captured = payment('PaymentCaptured', '2026-01-02T00:00:00.000Z');
    await apply(placed, authorized, confirmed, captured);
    const before = { row: await rawRow('redelivered-1'), view: await findOrder(pool, 'redelivered-1') };

    await apply(placed, authorized);
    await apply(confirmed, placed, captured, authorized);

    expect({ row: await rawRow('redelivered-1'), view: await findOrder(pool, 'redelivered-1') }).toEqual(before);
    expect(before.view).toMatchObject({ status: 'confirmed', payment: { status: 'captured' }, version: 1 });
  });

  it('lists orders by customer and status in pages', async () => {
    const orders = new Map(['list-1', 'list-2', 'list-3', 'list-4', 'list-5'].map((orderId) => [orderId, orderStream(orderId)]));
    await apply(...[...orders].map(([orderId, order]) => order(orderPlaced({ orderId, customerId: 'lister' }))));
    await apply(orderStream('other-1')(orderPlaced({ orderId: 'other-1', customerId: 'someone-else' })));
    await apply(...['list-2', 'list-4'].map((orderId) => orders.get(orderId)!(orderCancelled('out of stock', orderId))));

    const first = await listOrders(pool, { customerId: 'lister', limit: 2 });
    const second = await listOrders(pool, { customerId: 'lister', limit: 2, after: first.last });
    const third = await listOrders(pool, { customerId: 'lister', limit: 2, after: second.last });
    expect([first, second, third].map((page) => [page.items.map((order) => order.orderId), page.last])).toEqual([
      [['list-1', 'list-2'], 'list-2'],
      [['list-3', 'list-4'], 'list-4'],
      [['list-5'], undefined],
    ]);

    expect((await listOrders(pool, { customerId: 'lister', status: 'placed', limit: 10 })).items.map((order) => order.orderId)).toEqual(['list-1', 'list-3', 'list-5']);
    const cancelled = await listOrders(pool, { status: 'cancelled', limit: 100 });
    expect(cancelled.items.map((order) => order.orderId)).toEqual(expect.arrayContaining(['list-2', 'list-4']));
    expect(cancelled.items.every((order) => order.status === 'cancelled')).toBe(true);
    expect((await listOrders(pool, { customerId: 'someone-else', limit: 10 })).items).toEqual([expect.objectContaining({ orderId: 'other-1', customerId: 'someone-else' })]);
  });
});
