import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { requireRegistered } from '../errors';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type ReleaseStock = Command<'ReleaseStock', { sku: string; reservationId: string }>;

/**
 * Compensation: releasing twice changes nothing. Releasing a reservation never made closes it
 * (a release of 0): a reserve that arrives after its compensation is then refused.
 */
export const releaseStock: Decider<Product, ReleaseStock, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, state) => {
    const product = requireRegistered(state, command.data.sku);
    const reservation = product.reservations.get(command.data.reservationId);
    if (reservation?.status === 'committed') {
      throw new BusinessRuleViolation('reservation-committed', `reservation ${command.data.reservationId} is already committed`);
    }
    if (!reservation) return [{ type: 'StockReleased', data: { ...command.data, quantity: 0 } }];
    if (reservation.status !== 'reserved') return [];
    return [{ type: 'StockReleased', data: { ...command.data, quantity: reservation.quantity } }];
  },
};
