import type { Command, Decider } from '@tidings/core';
import { requireRegistered } from '../errors';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type ReceiveStock = Command<'ReceiveStock', { sku: string; quantity: number }>;

export const receiveStock: Decider<Product, ReceiveStock, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, product) => {
    requireRegistered(product, command.data.sku);
    return [{ type: 'StockReceived', data: command.data }];
  },
};
