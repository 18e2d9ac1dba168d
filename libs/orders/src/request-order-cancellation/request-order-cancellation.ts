import type { Command, Decider } from '@tidings/core';
import { OrderAlreadyConfirmed, requireOrder } from '../errors';
import { evolveOrder, initialOrder, type Order, type OrderCancellationRequested, type OrderEvent } from '../orders';

/** The customer's (or an admin's) wish: the checkout saga compensates, then cancels the order. */
export type RequestOrderCancellation = Command<'RequestOrderCancellation', OrderCancellationRequested['data']>;

export const requestOrderCancellation: Decider<Order, RequestOrderCancellation, OrderEvent> = {
  initialState: initialOrder,
  evolve: evolveOrder,
  decide: (command, state) => {
    const order = requireOrder(state, command.data.orderId);
    switch (order.status) {
      case 'placed':
        return order.cancellationRequestedBy === undefined ? [{ type: 'OrderCancellationRequested', data: command.data }] : [];
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
