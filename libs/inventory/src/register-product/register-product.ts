import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type RegisterProduct = Command<'RegisterProduct', { sku: string; name: string; priceCents: number; currency: string }>;

export class ProductAlreadyRegistered extends BusinessRuleViolation {
  constructor(readonly sku: string) {
    super('product-already-registered', `product ${sku} is already registered`);
  }
}

export const registerProduct: Decider<Product, RegisterProduct, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, product) => {
    if (product.status === 'registered') throw new ProductAlreadyRegistered(command.data.sku);
    return [{ type: 'ProductRegistered', data: command.data }];
  },
};
