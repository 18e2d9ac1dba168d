import type { Command, Decider } from '@tidings/core';
import { InvalidOrder, OrderAlreadyPlaced } from '../errors';
import { evolveOrder, initialOrder, type Order, type OrderEvent, type OrderItem } from '../orders';

/** `items` arrive priced: the caller looked the prices up in the catalog. */
export type PlaceOrder = Command<
  'PlaceOrder',
  {
    orderId: string;
    customerId: string;
    items: readonly OrderItem[];
    currency: string;
    taxRate: number;
    shippingCountry: string;
    paymentToken: string;
  }
>;

export const MAX_ORDER_ITEMS = 50;
export const MAX_ITEM_QUANTITY = 1000;

export const placeOrder: Decider<Order, PlaceOrder, OrderEvent> = {
  initialState: initialOrder,
  evolve: evolveOrder,
  decide: (command, order) => {
    const { items, taxRate } = command.data;
    if (order.status !== 'none') throw new OrderAlreadyPlaced(command.data.orderId);
    if (items.length === 0 || items.length > MAX_ORDER_ITEMS) throw new InvalidOrder(`an order has 1 to ${MAX_ORDER_ITEMS} items, not ${items.length}`);
    for (const { sku, quantity, unitPriceCents } of items) {
      if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_ITEM_QUANTITY) {
        throw new InvalidOrder(`quantity of ${sku} must be a whole number from 1 to ${MAX_ITEM_QUANTITY}, not ${quantity}`);
      }
      if (!Number.isInteger(unitPriceCents) || unitPriceCents < 0) throw new InvalidOrder(`price of ${sku} must be whole cents, not ${unitPriceCents}`);
    }
    const duplicate = items.find((item, index) => items.findIndex((other) => other.sku === item.sku) !== index);
    // One line per sku keeps reservations and refunds one-to-one with lines.
    if (duplicate) throw new InvalidOrder(`sku ${duplicate.sku} is ordered on more than one line`);
    if (!(taxRate >= 0 && taxRate <= 1)) throw new InvalidOrder(`tax rate must be between 0 and 1, not ${taxRate}`);
    const subtotalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
    const taxCents = Math.round(subtotalCents * taxRate);
    const totalCents = subtotalCents + taxCents;
    // Every term is whole and not negative, so a line or sum past 2^53 - 1 (where doubles stop counting cents exactly) shows in the total.
    if (!Number.isSafeInteger(totalCents)) throw new InvalidOrder(`the order's total of ${totalCents} cents is more than an order may carry (${Number.MAX_SAFE_INTEGER} cents)`);
    return [{ type: 'OrderPlaced', data: { ...command.data, subtotalCents, taxCents, totalCents } }];
  },
};
