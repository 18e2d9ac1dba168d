import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ProductNotFound, StockLimitExceeded } from '../errors';
import { registered } from '../inventory.fixture';
import { MAX_UNITS_ON_HAND, receiveStock, type ReceiveStock } from './receive-stock';

const receive = (quantity: number): ReceiveStock => ({ type: 'ReceiveStock', data: { sku: 'SKU-1', quantity }, metadata: testCommandMetadata() });

describe('ReceiveStock', () => {
  const spec = deciderSpec(receiveStock);

  it('adds stock to a registered product', () => {
    spec.given([registered()]).when(receive(5)).then([{ type: 'StockReceived', data: { sku: 'SKU-1', quantity: 5 } }]);
  });

  it('fills a sku up to the limit of units on hand, and refuses a unit more', () => {
    const nearlyFull = [registered(), { type: 'StockReceived' as const, data: { sku: 'SKU-1', quantity: MAX_UNITS_ON_HAND - 5 } }];
    spec.given(nearlyFull).when(receive(5)).then([{ type: 'StockReceived', data: { sku: 'SKU-1', quantity: 5 } }]);
    spec.given(nearlyFull).when(receive(6)).thenThrows(StockLimitExceeded, /1999999995 units on hand: 6 more would pass the limit of 2000000000 per sku/);
  });

  it('refuses stock for an unknown sku', () => {
    spec.given([]).when(receive(5)).thenThrows(ProductNotFound);
  });
});
