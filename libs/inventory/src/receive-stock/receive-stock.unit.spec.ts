import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ProductNotFound } from '../errors';
import { registered } from '../inventory.fixture';
import { receiveStock, type ReceiveStock } from './receive-stock';

const receive = (quantity: number): ReceiveStock => ({ type: 'ReceiveStock', data: { sku: 'SKU-1', quantity }, metadata: testCommandMetadata() });

describe('ReceiveStock', () => {
  const spec = deciderSpec(receiveStock);

  it('adds stock to a registered product', () => {
    spec.given([registered()]).when(receive(5)).then([{ type: 'StockReceived', data: { sku: 'SKU-1', quantity: 5 } }]);
  });

  it('refuses stock for an unknown sku', () => {
    spec.given([]).when(receive(5)).thenThrows(ProductNotFound);
  });
});
