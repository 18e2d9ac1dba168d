import type { Command, Decider } from '@tidings/core';
import { OrderAlreadyCancelled, requireOrder } from '../errors';
import { evolveOrder, initialOrder, type Order, type OrderEvent } from '../orders';

/** Sent by the checkout saga once stock is reserved and payment captured. */
export type ConfirmOrder = Command<'ConfirmOrder', { orderId: string }>;

export const confirmOrder: Decider<Order, ConfirmOrder, OrderEvent> = {
  initialState: initialOrder,
  evolve: evolveOrder,
  decide: (command, state) => {
    const order = requireOrder(state, command.data.orderId);
    switch (order.status) {
      case 'placed':
        // A requested cancellation wins: the saga must compensate instead.
        if (order.cancellationRequestedBy !== undefined) throw new OrderAlreadyCancelled(order.orderId);
        return [{ type: 'OrderConfirmed', data: command.data }];
      case 'confirmed':
        return [];
      case 'cancelled':
        throw new OrderAlreadyCancelled(order.orderId);
      default: {
        const unhandled: never = order.status;
        return unhandled;
      }
    }
  },
};
