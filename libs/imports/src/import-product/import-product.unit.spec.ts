import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import type { InventoryEvent } from '@tidings/inventory';
import { importProduct, type ImportProduct } from './import-product';

const row = (name: string, priceCents: number, quantity: number): ImportProduct => ({ type: 'ImportProduct', data: { sku: 'SKU-1', name, priceCents, quantity }, metadata: testCommandMetadata() });
const registered: InventoryEvent = { type: 'ProductRegistered', data: { sku: 'SKU-1', name: 'Blue mug', priceCents: 1299, currency: 'EUR' } };

describe('ImportProduct', () => {
  const spec = deciderSpec(importProduct);

  it('registers a new sku in dollars and receives its quantity, in one decision', () => {
    spec
      .given([])
      .when(row('Blue mug', 1299, 5))
      .then([
        { type: 'ProductRegistered', data: { sku: 'SKU-1', name: 'Blue mug', priceCents: 1299, currency: 'USD' } },
        { type: 'StockReceived', data: { sku: 'SKU-1', quantity: 5 } },
      ]);
  });

  it('revises a known sku whose name or price differ, keeping its currency, and adds to its stock', () => {
    spec
      .given([registered])
      .when(row('Green mug', 1499, 2))
      .then([
        { type: 'ProductRevised', data: { sku: 'SKU-1', name: 'Green mug', priceCents: 1499 } },
        { type: 'StockReceived', data: { sku: 'SKU-1', quantity: 2 } },
      ]);
  });

  it('only receives stock for a known sku as it is, and receives nothing for a quantity of 0', () => {
    spec.given([registered]).when(row('Blue mug', 1299, 3)).then([{ type: 'StockReceived', data: { sku: 'SKU-1', quantity: 3 } }]);
    spec.given([registered]).when(row('Blue mug', 1299, 0)).then([]);
  });
});
