import type { Command, Decider } from '@tidings/core';
import { requireRegistered, StockLimitExceeded } from '../errors';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type ReceiveStock = Command<'ReceiveStock', { sku: string; quantity: number }>;

/** Units one sku may have on hand: what the products read model and GraphQL count to (32-bit), rounded down. */
export const MAX_UNITS_ON_HAND = 2_000_000_000;

export const receiveStock: Decider<Product, ReceiveStock, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, product) => {
    const { onHand } = requireRegistered(product, command.data.sku);
    if (onHand + command.data.quantity > MAX_UNITS_ON_HAND) throw new StockLimitExceeded(command.data.sku, onHand, command.data.quantity, MAX_UNITS_ON_HAND);
    return [{ type: 'StockReceived', data: command.data }];
  },
};
