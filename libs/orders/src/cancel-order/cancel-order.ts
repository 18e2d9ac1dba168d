import type { Command, Decider } from '@tidings/core';
import { OrderAlreadyConfirmed, requireOrder } from '../errors';
import { evolveOrder, initialOrder, type Order, type OrderEvent } from '../orders';

/** Sent by the checkout saga once it has compensated (stock released, payment voided or refunded). */
export type CancelOrder = Command<'CancelOrder', { orderId: string; reason: string }>;

export const cancelOrder: Decider<Order, CancelOrder, OrderEvent> = {
  initialState: initialOrder,
  evolve: evolveOrder,
  decide: (command, state) => {
    const order = requireOrder(state, command.data.orderId);
    switch (order.status) {
      case 'placed':
        return [{ type: 'OrderCancelled', data: command.data }];
      case 'cancelled':
        return [];
      case 'confirmed':
        throw new OrderAlreadyConfirmed(order.orderId);
      default: {
        const unhandled: never = order.status;
        return unhandled;
      }
    }
  },
};
