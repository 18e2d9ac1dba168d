import { available, evolveProduct, initialProduct, type RegisteredProduct } from './inventory';
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
