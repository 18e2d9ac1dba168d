import { BusinessRuleViolation } from '@tidings/core';
import type { ExistingOrder, Order } from './orders';

export class OrderNotFound extends BusinessRuleViolation {
  constructor(readonly orderId: string) {
    super('order-not-found', `order ${orderId} does not exist`);
  }
}

export class OrderAlreadyPlaced extends BusinessRuleViolation {
  constructor(readonly orderId: string) {
    super('order-already-placed', `order ${orderId} is already placed`);
  }
}

export class InvalidOrder extends BusinessRuleViolation {
  constructor(reason: string) {
    super('invalid-order', reason);
  }
}

export class OrderAlreadyConfirmed extends BusinessRuleViolation {
  constructor(readonly orderId: string) {
    super('order-already-confirmed', `order ${orderId} is already confirmed`);
  }
}

/** The order is cancelled, or its cancellation was requested: it can no longer be confirmed. */
export class OrderAlreadyCancelled extends BusinessRuleViolation {
  constructor(readonly orderId: string) {
    super('order-cancelled', `order ${orderId} is cancelled or being cancelled`);
  }
}

export const requireOrder = (order: Order, orderId: string): ExistingOrder => {
  if (order.status === 'none') throw new OrderNotFound(orderId);
  return order;
};
