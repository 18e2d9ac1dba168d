import type { Command, Decider } from '@tidings/core';
import { requireRegistered } from '../errors';
import { evolveProduct, initialProduct, type InventoryEvent, type Product } from '../inventory';

export type ReviseProduct = Command<'ReviseProduct', { sku: string; name: string; priceCents: number }>;

/** A registered product's name and price change; the same ones again change nothing. Its currency stays. */
export const reviseProduct: Decider<Product, ReviseProduct, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, state) => {
    const product = requireRegistered(state, command.data.sku);
    if (product.name === command.data.name && product.priceCents === command.data.priceCents) return [];
    return [{ type: 'ProductRevised', data: command.data }];
  },
};
