import type { InventoryEvent } from './inventory';

/** Histories for the specs of this context. */
export const registered = (sku = 'SKU-1'): InventoryEvent => ({
  type: 'ProductRegistered',
  data: { sku, name: 'Blue mug', priceCents: 1299, currency: 'USD' },
});
export const received = (quantity: number, sku = 'SKU-1'): InventoryEvent => ({ type: 'StockReceived', data: { sku, quantity } });
export const reserved = (reservationId: string, quantity: number, sku = 'SKU-1'): InventoryEvent => ({
  type: 'StockReserved',
  data: { sku, reservationId, quantity },
});
export const released = (reservationId: string, quantity: number, sku = 'SKU-1'): InventoryEvent => ({
  type: 'StockReleased',
  data: { sku, reservationId, quantity },
});
export const committed = (reservationId: string, quantity: number, sku = 'SKU-1'): InventoryEvent => ({
  type: 'StockCommitted',
  data: { sku, reservationId, quantity },
});
export const rejected = (reservationId: string, quantity: number, sku = 'SKU-1'): InventoryEvent => ({
  type: 'StockReservationRejected',
  data: { sku, reservationId, quantity, available: 0 },
});
