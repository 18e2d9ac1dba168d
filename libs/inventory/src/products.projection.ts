import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier, writingProjection, type Projection, type Statement } from '@tidings/read-models';
import type { InventoryEvent } from './inventory';

/** One row per product of the `products` read model: catalog entry and stock. */
export type ProductRow = Readonly<{
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  onHand: number;
  reserved: number;
  available: number;
  /** Stream version of the last event applied: older ones are ignored. */
  version: number;
  position: bigint;
}>;

const INVENTORY_EVENTS = new Set<string>([
  'ProductRegistered',
  'ProductRevised',
  'StockReceived',
  'StockReserved',
  'StockReservationRejected',
  'StockReleased',
  'StockCommitted',
]);

const isInventoryEvent = (event: RecordedEvent): event is RecordedEvent<InventoryEvent> => INVENTORY_EVENTS.has(event.type);

/**
 * What a batch's events do to a product registered in an earlier batch: its row is not read,
 * so stock moves by what the events add, and name and price change only when revised.
 * `firstVersion`: the batch's first event of the product; a row already past it is left alone.
 */
export type ProductRowChange = Readonly<{
  sku: string;
  name?: string;
  priceCents?: number;
  onHandChange: number;
  reservedChange: number;
  firstVersion: number;
  version: number;
  position: bigint;
}>;

const isRow = (row: ProductRow | ProductRowChange): row is ProductRow => 'onHand' in row;

/** Where a batch's change of a product registered in an earlier batch starts, before the batch's first event of it. */
const unchangedBefore = (event: RecordedEvent<InventoryEvent>): ProductRowChange => ({
  sku: event.data.sku,
  onHandChange: 0,
  reservedChange: 0,
  firstVersion: event.streamVersion,
  version: event.streamVersion - 1,
  position: event.position,
});

/**
 * How one event changes a product's row (the same row back when it changes nothing), or what a
 * batch writes of a product registered before it (see unchangedBefore).
 */
export function evolveProductRow(row: ProductRow | undefined, event: RecordedEvent<InventoryEvent>): ProductRow | undefined;
export function evolveProductRow(row: ProductRow | ProductRowChange | undefined, event: RecordedEvent<InventoryEvent>): ProductRow | ProductRowChange | undefined;
export function evolveProductRow(row: ProductRow | ProductRowChange | undefined, event: RecordedEvent<InventoryEvent>): ProductRow | ProductRowChange | undefined {
  if (row && event.streamVersion <= row.version) return row;
  const applied = { version: event.streamVersion, position: event.position };
  if (event.type === 'ProductRegistered') {
    const { sku, name, priceCents, currency } = event.data;
    return { sku, name, priceCents, currency, onHand: 0, reserved: 0, available: 0, ...applied };
  }
  if (!row) return row;
  const stock = (onHand: number, reserved: number): ProductRow | ProductRowChange =>
    isRow(row)
      ? { ...row, onHand: row.onHand + onHand, reserved: row.reserved + reserved, available: row.onHand + onHand - (row.reserved + reserved), ...applied }
      : { ...row, onHandChange: row.onHandChange + onHand, reservedChange: row.reservedChange + reserved, ...applied };
  switch (event.type) {
    case 'ProductRevised':
      return { ...row, name: event.data.name, priceCents: event.data.priceCents, ...applied };
    case 'StockReceived':
      return stock(event.data.quantity, 0);
    case 'StockReserved':
      return stock(0, event.data.quantity);
    case 'StockReleased':
      return stock(0, -event.data.quantity);
    case 'StockCommitted':
      return stock(-event.data.quantity, -event.data.quantity);
    case 'StockReservationRejected':
      return { ...row, ...applied };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** A row of the `products` tables as PostgreSQL returns it. */
export type ProductRecord = {
  sku: string;
  name: string;
  price_cents: string;
  currency: string;
  on_hand: number;
  reserved: number;
  available: number;
  version: number;
  position: string;
};

/**
 * The products/stock read model. A batch reads nothing (writingProjection): its events are
 * folded in memory per product, and written with an upsert of the products it registered and an
 * update of the others by what changed (skipped for a row already past the batch's first event).
 */
export const productsProjection: Projection = writingProjection({
  name: 'products',
  categories: ['product'],
  tables: {
    products: (table) => `
      CREATE TABLE ${table} (
        sku         text   PRIMARY KEY,
        name        text   NOT NULL,
        price_cents bigint NOT NULL,
        currency    text   NOT NULL,
        on_hand     int    NOT NULL,
        reserved    int    NOT NULL,
        available   int    NOT NULL,
        version     int    NOT NULL,
        position    bigint NOT NULL
      )`,
  },

  write(events, tables) {
    const products = new Map<string, ProductRow | ProductRowChange>();
    for (const event of events.filter(isInventoryEvent)) {
      const before = products.get(event.data.sku) ?? (event.type === 'ProductRegistered' ? undefined : unchangedBefore(event));
      const after = evolveProductRow(before, event);
      if (after) products.set(after.sku, after);
    }
    const written = [...products.values()];
    return [...productsRegistered(tables.products, written.filter(isRow)), ...productsChanged(tables.products, written.filter((row): row is ProductRowChange => !isRow(row)))];
  },
});

function productsRegistered(table: string, rows: readonly ProductRow[]): Statement[] {
  if (rows.length === 0) return [];
  return [
    {
      name: `tidings_register_${table}`,
      text: `INSERT INTO ${quoteIdentifier(table)} AS p (sku, name, price_cents, currency, on_hand, reserved, available, version, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[])
       ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, currency = excluded.currency,
         on_hand = excluded.on_hand, reserved = excluded.reserved, available = excluded.available,
         version = excluded.version, position = excluded.position
       WHERE p.version < excluded.version`,
      values: [
        rows.map((row) => row.sku),
        rows.map((row) => row.name),
        rows.map((row) => row.priceCents),
        rows.map((row) => row.currency),
        rows.map((row) => row.onHand),
        rows.map((row) => row.reserved),
        rows.map((row) => row.available),
        rows.map((row) => row.version),
        rows.map((row) => row.position.toString()),
      ],
    },
  ];
}

function productsChanged(table: string, changes: readonly ProductRowChange[]): Statement[] {
  if (changes.length === 0) return [];
  return [
    {
      name: `tidings_change_${table}`,
      text: `UPDATE ${quoteIdentifier(table)} AS p SET name = coalesce(c.name, p.name), price_cents = coalesce(c.price_cents, p.price_cents),
         on_hand = p.on_hand + c.on_hand_change, reserved = p.reserved + c.reserved_change,
         available = p.on_hand + c.on_hand_change - (p.reserved + c.reserved_change), version = c.version, position = c.position
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::int[], $8::bigint[])
         AS c (sku, name, price_cents, on_hand_change, reserved_change, first_version, version, position)
       WHERE p.sku = c.sku AND p.version < c.first_version`,
      values: [
        changes.map((change) => change.sku),
        changes.map((change) => change.name ?? null),
        changes.map((change) => change.priceCents ?? null),
        changes.map((change) => change.onHandChange),
        changes.map((change) => change.reservedChange),
        changes.map((change) => change.firstVersion),
        changes.map((change) => change.version),
        changes.map((change) => change.position.toString()),
      ],
    },
  ];
}

export const productRowOf = (record: ProductRecord): ProductRow => ({
  sku: record.sku,
  name: record.name,
  priceCents: Number(record.price_cents),
  currency: record.currency,
  onHand: record.on_hand,
  reserved: record.reserved,
  available: record.available,
  version: record.version,
  position: BigInt(record.position),
});
