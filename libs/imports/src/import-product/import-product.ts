import { decidedEvents, type Command, type Decider } from '@tidings/core';
import { evolveProduct, initialProduct, receiveStock, registerProduct, reviseProduct, type InventoryEvent, type Product } from '@tidings/inventory';

export type ImportProduct = Command<'ImportProduct', { sku: string; name: string; priceCents: number; quantity: number }>;

/** The currency of products an import registers (a CSV row has no currency column). */
export const IMPORT_CURRENCY = 'USD';

/**
 * One row of an import, in one append on the product's stream: the catalog's own deciders
 * register the sku (or revise a known one's name and price) and receive its quantity, so a
 * row is imported whole or not at all, under the inventory's rules.
 */
export const importProduct: Decider<Product, ImportProduct, InventoryEvent> = {
  initialState: initialProduct,
  evolve: evolveProduct,
  decide: (command, product) => {
    const { metadata } = command;
    const { sku, name, priceCents, quantity } = command.data;
    const catalog = decidedEvents(
      product.status === 'registered'
        ? reviseProduct.decide({ type: 'ReviseProduct', data: { sku, name, priceCents }, metadata }, product)
        : registerProduct.decide({ type: 'RegisterProduct', data: { sku, name, priceCents, currency: IMPORT_CURRENCY }, metadata }, product),
    );
    if (quantity === 0) return catalog;
    const registered = catalog.reduce(evolveProduct, product);
    return [...catalog, ...decidedEvents(receiveStock.decide({ type: 'ReceiveStock', data: { sku, quantity }, metadata }, registered))];
  },
};
