import { BusinessRuleViolation } from '@tidings/core';

export class ProductNotFound extends BusinessRuleViolation {
  constructor(readonly sku: string) {
    super('product-not-found', `product ${sku} is not registered`);
  }
}

export class StockLimitExceeded extends BusinessRuleViolation {
  constructor(readonly sku: string, onHand: number, quantity: number, limit: number) {
    super('stock-limit-exceeded', `${sku} has ${onHand} units on hand: ${quantity} more would pass the limit of ${limit} per sku`);
  }
}

export const requireRegistered = <P extends { status: string }>(product: P, sku: string): Extract<P, { status: 'registered' }> => {
  if (product.status !== 'registered') throw new ProductNotFound(sku);
  return product as Extract<P, { status: 'registered' }>;
};
