import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ProductNotFound } from '../errors';
import { received, registered } from '../inventory.fixture';
import { reviseProduct, type ReviseProduct } from './revise-product';

const revise = (name: string, priceCents: number): ReviseProduct => ({ type: 'ReviseProduct', data: { sku: 'SKU-1', name, priceCents }, metadata: testCommandMetadata() });

describe('ReviseProduct', () => {
  const spec = deciderSpec(reviseProduct);

  it('changes the name and price of a registered product', () => {
    spec.given([registered(), received(3)]).when(revise('Green mug', 1499)).then([{ type: 'ProductRevised', data: { sku: 'SKU-1', name: 'Green mug', priceCents: 1499 } }]);
  });

  it('changes nothing when name and price are the ones it has', () => {
    spec.given([registered()]).when(revise('Blue mug', 1299)).then([]);
  });

  it('refuses an unknown sku', () => {
    spec.given([]).when(revise('Green mug', 1499)).thenThrows(ProductNotFound);
  });
});
