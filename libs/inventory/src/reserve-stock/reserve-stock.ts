import type { Command, Decider } from '@tidings/core';
import { requireRegistered } from '../errors';
import { available, evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

/** `reservationId` is chosen by the caller (the checkout saga derives it), so a redelivery reserves nothing twice. */
export type ReserveStock = Command<'ReserveStock', { sku: string; reservationId: string; quantity: number }>;

export const reserveStock: Decider<Product, ReserveStock, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, state) => {
    const product = requireRegistered(state, command.data.sku);
    if (product.reservations.has(command.data.reservationId)) return [];
    const free = available(product);
    return free < command.data.quantity
      ? [{ type: 'StockReservationRejected', data: { ...command.data, available: free } }]
      : [{ type: 'StockReserved', data: command.data }];
  },
};
