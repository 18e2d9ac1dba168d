import { Map as PersistentMap } from 'immutable';
import type { Message } from '@tidings/core';

/** One stream per product, `product-<sku>`: the catalog entry and its stock. */
export const productStreamId = (sku: string): string => `product-${sku}`;

export type ProductRegistered = Message<'ProductRegistered', { sku: string; name: string; priceCents: number; currency: string }>;
/** The catalog entry changed (an import of a known sku): name and price; the currency stays. */
export type ProductRevised = Message<'ProductRevised', { sku: string; name: string; priceCents: number }>;
export type StockReceived = Message<'StockReceived', { sku: string; quantity: number }>;
export type StockReserved = Message<'StockReserved', { sku: string; reservationId: string; quantity: number }>;
export type StockReservationRejected = Message<
  'StockReservationRejected',
  { sku: string; reservationId: string; quantity: number; available: number }
>;
export type StockReleased = Message<'StockReleased', { sku: string; reservationId: string; quantity: number }>;
export type StockCommitted = Message<'StockCommitted', { sku: string; reservationId: string; quantity: number }>;

export type InventoryEvent =
  | ProductRegistered
  | ProductRevised
  | StockReceived
  | StockReserved
  | StockReservationRejected
  | StockReleased
  | StockCommitted;

export type Reservation = Readonly<{ quantity: number; status: 'reserved' | 'released' | 'committed' | 'rejected' }>;

export type Product =
  | Readonly<{ status: 'unregistered' }>
  | Readonly<{
      status: 'registered';
      sku: string;
      name: string;
      priceCents: number;
      currency: string;
      onHand: number;
      reserved: number;
      /**
       * Every reservation ever made, by id (a late duplicate must still be recognised). A
       * persistent map: recording one shares the rest instead of copying it, so a product's
       * thousandth order costs what its first did.
       */
      reservations: PersistentMap<string, Reservation>;
    }>;

export type RegisteredProduct = Extract<Product, { status: 'registered' }>;

export const initialProduct = (): Product => ({ status: 'unregistered' });

/** What can be promised to a new reservation: on hand but not yet reserved. */
export const available = (product: RegisteredProduct): number => product.onHand - product.reserved;

export function evolveProduct(product: Product, event: InventoryEvent): Product {
  if (event.type === 'ProductRegistered') {
    return { status: 'registered', ...event.data, onHand: 0, reserved: 0, reservations: PersistentMap() };
  }
  if (product.status !== 'registered') return product;
  switch (event.type) {
    case 'ProductRevised':
      return { ...product, name: event.data.name, priceCents: event.data.priceCents };
    case 'StockReceived':
      return { ...product, onHand: product.onHand + event.data.quantity };
    case 'StockReserved':
      return withReservation({ ...product, reserved: product.reserved + event.data.quantity }, event.data.reservationId, {
        quantity: event.data.quantity,
        status: 'reserved',
      });
    case 'StockReservationRejected':
      return withReservation(product, event.data.reservationId, { quantity: event.data.quantity, status: 'rejected' });
    case 'StockReleased':
      return withReservation({ ...product, reserved: product.reserved - event.data.quantity }, event.data.reservationId, {
        quantity: event.data.quantity,
        status: 'released',
      });
    case 'StockCommitted':
      return withReservation(
        { ...product, onHand: product.onHand - event.data.quantity, reserved: product.reserved - event.data.quantity },
        event.data.reservationId,
        { quantity: event.data.quantity, status: 'committed' },
      );
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

const withReservation = (product: RegisteredProduct, reservationId: string, reservation: Reservation): RegisteredProduct => ({
  ...product,
  reservations: product.reservations.set(reservationId, reservation),
});
