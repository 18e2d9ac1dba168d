import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { requireRegistered } from '../errors';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type CommitStock = Command<'CommitStock', { sku: string; reservationId: string }>;

/** The stock leaves: once per reservation, and never after the reservation was released. */
export const commitStock: Decider<Product, CommitStock, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, state) => {
    const product = requireRegistered(state, command.data.sku);
    const reservation = product.reservations.get(command.data.reservationId);
    if (reservation?.status === 'committed') return [];
    if (reservation?.status !== 'reserved') {
      throw new BusinessRuleViolation('reservation-not-held', `reservation ${command.data.reservationId} is not held (${reservation?.status ?? 'unknown'})`);
    }
    return [{ type: 'StockCommitted', data: { ...command.data, quantity: reservation.quantity } }];
  },
};
