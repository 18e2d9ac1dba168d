import type { RecordedEvent } from '@tidings/core';
import { recordedStreams } from '@tidings/testing';
import { available, evolveProduct, initialProduct, type InventoryEvent, type RegisteredProduct } from './inventory';
import { evolveProductRow, type ProductRow } from './products.projection';
import { committed, received, registered, released, reserved } from './inventory.fixture';

describe('product state', () => {
  it('keeps available = on hand − reserved through a reservation, a release and a commit', () => {
    const product = [registered(), received(10), reserved('r1', 3), reserved('r2', 2), released('r1', 3), committed('r2', 2)].reduce(
      evolveProduct,
      initialProduct(),
    ) as RegisteredProduct;

    expect(product).toMatchObject({ onHand: 8, reserved: 0 });
    expect(available(product)).toBe(8);
  });
});

describe('a revised product', () => {
  const revised: InventoryEvent = { type: 'ProductRevised', data: { sku: 'SKU-1', name: 'Green mug', priceCents: 1499 } };

  it('takes the new name and price and keeps its currency and stock, in its state and its read model row', () => {
    const history = [registered(), received(4), revised];
    expect(history.reduce(evolveProduct, initialProduct())).toMatchObject({ name: 'Green mug', priceCents: 1499, currency: 'USD', onHand: 4 });
    const stream = recordedStreams()('product-SKU-1');
    const row = history.map((event) => stream(event) as RecordedEvent<InventoryEvent>).reduce<ProductRow | undefined>(evolveProductRow, undefined);
    expect(row).toMatchObject({ name: 'Green mug', priceCents: 1499, currency: 'USD', onHand: 4, available: 4, version: 2 });
  });
});
