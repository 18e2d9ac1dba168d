import { createCommandHandler, uuidV7Ids } from '@tidings/core';
import { testCommandMetadata, useTestEventStore } from '@tidings/testing';
import { productStreamId } from '../inventory';
import { receiveStock } from '../receive-stock/receive-stock';
import { registerProduct } from '../register-product/register-product';
import { reserveStock } from './reserve-stock';

describe('ReserveStock under concurrency, on the PostgreSQL store', () => {
  const given = useTestEventStore();

  it('lets exactly 10 of 50 concurrent one-unit reservations against 10 in stock succeed, from two processes', async () => {
    const processes = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const sku = `SKU-${Date.now()}`;
    const stream = productStreamId(sku);
    const metadata = () => testCommandMetadata({ commandId: uuidV7Ids.next() });
    await processes[0](registerProduct, stream, { type: 'RegisterProduct', data: { sku, name: 'Mug', priceCents: 100, currency: 'USD' }, metadata: metadata() });
    await processes[0](receiveStock, stream, { type: 'ReceiveStock', data: { sku, quantity: 10 }, metadata: metadata() });

    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        processes[i % 2](reserveStock, stream, { type: 'ReserveStock', data: { sku, reservationId: `r-${i}`, quantity: 1 }, metadata: metadata() }),
      ),
    );

    const events = await given.store.readStream(stream);
    expect(events.filter((event) => event.type === 'StockReserved')).toHaveLength(10);
    expect(events.filter((event) => event.type === 'StockReservationRejected')).toHaveLength(40);
    expect(events.map((event) => event.streamVersion)).toEqual(events.map((_, i) => i));
  });
});
