import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { registered } from '../inventory.fixture';
import { ProductAlreadyRegistered, registerProduct, type RegisterProduct } from './register-product';

const register: RegisterProduct = {
  type: 'RegisterProduct',
  data: { sku: 'SKU-1', name: 'Blue mug', priceCents: 1299, currency: 'USD' },
  metadata: testCommandMetadata(),
};

describe('RegisterProduct', () => {
  const spec = deciderSpec(registerProduct);

  it('registers a new sku', () => {
    spec.given([]).when(register).then([{ type: 'ProductRegistered', data: register.data }]);
  });

  it('refuses a sku that is already registered', () => {
    spec.given([registered()]).when(register).thenThrows(ProductAlreadyRegistered);
  });
});
