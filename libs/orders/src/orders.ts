import type { Message } from '@tidings/core';

/** One stream per order, `order-<orderId>`. */
export const orderStreamId = (orderId: string): string => `order-${orderId}`;

/** A line as ordered, priced from the catalog when the order was placed. */
export type OrderItem = Readonly<{ sku: string; quantity: number; unitPriceCents: number }>;

export type OrderPlaced = Message<
  'OrderPlaced',
  {
    orderId: string;
    customerId: string;
    items: readonly OrderItem[];
    currency: string;
    subtotalCents: number;
    taxRate: number;
    taxCents: number;
    totalCents: number;
    shippingCountry: string;
    paymentToken: string;
  }
>;
/** `reason`: an operator's, given when they compensate the checkout (a customer's request has none). */
export type OrderCancellationRequested = Message<'OrderCancellationRequested', { orderId: string; requestedBy: string; reason?: string }>;
export type OrderConfirmed = Message<'OrderConfirmed', { orderId: string }>;
export type OrderCancelled = Message<'OrderCancelled', { orderId: string; reason: string }>;

export type OrderEvent = OrderPlaced | OrderCancellationRequested | OrderConfirmed | OrderCancelled;

export type Order =
  | Readonly<{ status: 'none' }>
  | Readonly<
      { status: 'placed' | 'confirmed' | 'cancelled' } & OrderPlaced['data'] & {
          /** Set while placed: the saga compensates, then cancels. */
          cancellationRequestedBy?: string;
          cancellationRequestReason?: string;
          cancellationReason?: string;
        }
    >;

/** An order that was placed, whatever became of it since. */
export type ExistingOrder = Exclude<Order, { status: 'none' }>;

export const initialOrder = (): Order => ({ status: 'none' });

export function evolveOrder(order: Order, event: OrderEvent): Order {
  if (event.type === 'OrderPlaced') return { status: 'placed', ...event.data };
  if (order.status === 'none') return order;
  switch (event.type) {
    case 'OrderCancellationRequested':
      return { ...order, cancellationRequestedBy: event.data.requestedBy, ...(event.data.reason !== undefined ? { cancellationRequestReason: event.data.reason } : {}) };
    case 'OrderConfirmed':
      return { ...order, status: 'confirmed' };
    case 'OrderCancelled':
      return { ...order, status: 'cancelled', cancellationReason: event.data.reason };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
