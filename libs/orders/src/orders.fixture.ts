import type { OrderCancellationRequested, OrderCancelled, OrderConfirmed, OrderPlaced } from './orders';

export const ORDER_ID = '0190a000-0000-7000-8000-0000000000aa';

/** Histories for the specs of this and other contexts: two items, 20 % tax. */
export const orderPlaced = (overrides: Partial<OrderPlaced['data']> = {}): OrderPlaced => ({
  type: 'OrderPlaced',
  data: {
    orderId: ORDER_ID,
    customerId: 'user-1',
    items: [
      { sku: 'SKU-1', quantity: 2, unitPriceCents: 1299 },
      { sku: 'SKU-2', quantity: 1, unitPriceCents: 500 },
    ],
    currency: 'USD',
    subtotalCents: 3098,
    taxRate: 0.2,
    taxCents: 620,
    totalCents: 3718,
    shippingCountry: 'DE',
    paymentToken: 'tok_visa',
    ...overrides,
  },
});
export const cancellationRequested = (orderId = ORDER_ID, requestedBy = 'user-1'): OrderCancellationRequested => ({
  type: 'OrderCancellationRequested',
  data: { orderId, requestedBy },
});
export const orderConfirmed = (orderId = ORDER_ID): OrderConfirmed => ({ type: 'OrderConfirmed', data: { orderId } });
export const orderCancelled = (reason = 'payment declined', orderId = ORDER_ID): OrderCancelled => ({
  type: 'OrderCancelled',
  data: { orderId, reason },
});
