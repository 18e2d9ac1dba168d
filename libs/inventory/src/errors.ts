import { BusinessRuleViolation } from '@tidings/core';

export class ProductNotFound extends BusinessRuleViolation {
  constructor(readonly sku: string) {
    super('product-not-found', `product ${sku} is not registered`);
  }
}

export const requireRegistered = <P extends { status: string }>(product: P, sku: string): Extract<P, { status: 'registered' }> => {
  if (product.status !== 'registered') throw new ProductNotFound(sku);
  return product as Extract<P, { status: 'registered' }>;
};
