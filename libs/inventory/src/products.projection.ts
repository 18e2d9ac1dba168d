import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier, type Projection } from '@tidings/read-models';
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

/** How one event changes a product's row; the same row back when it changes nothing. */
export function evolveProductRow(row: ProductRow | undefined, event: RecordedEvent<InventoryEvent>): ProductRow | undefined {
  if (row && event.streamVersion <= row.version) return row;
  const applied = { version: event.streamVersion, position: event.position };
  if (event.type === 'ProductRegistered') {
    const { sku, name, priceCents, currency } = event.data;
    return { sku, name, priceCents, currency, onHand: 0, reserved: 0, available: 0, ...applied };
  }
  if (!row) return row;
  const stock = (onHand: number, reserved: number): ProductRow => ({ ...row, onHand, reserved, available: onHand - reserved, ...applied });
  switch (event.type) {
    case 'ProductRevised':
      return { ...row, name: event.data.name, priceCents: event.data.priceCents, ...applied };
    case 'StockReceived':
      return stock(row.onHand + event.data.quantity, row.reserved);
    case 'StockReserved':
      return stock(row.onHand, row.reserved + event.data.quantity);
    case 'StockReleased':
      return stock(row.onHand, row.reserved - event.data.quantity);
    case 'StockCommitted':
      return stock(row.onHand - event.data.quantity, row.reserved - event.data.quantity);
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
 * The products/stock read model. A batch costs two statements whatever its size: the rows it
 * touches are read at once, every event is folded in memory, and the changed rows are written
 * back in one upsert.
 */
export const productsProjection: Projection = {
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

  async apply(db, events, tables) {
    const table = quoteIdentifier(tables.products);
    const inventoryEvents = events.filter(isInventoryEvent);
    if (inventoryEvents.length === 0) return;
    const skus = [...new Set(inventoryEvents.map((event) => event.data.sku))];
    // Planned on every batch, never prepared: a plan cached while the table was small (a seq scan)
    // would be kept as it grows by the hundred thousand in a bulk import, with no ANALYZE to
    // replace it when autovacuum is off.
    const { rows } = await db.query<ProductRecord>(`SELECT * FROM ${table} WHERE sku = ANY($1)`, [skus]);
    const current = new Map(rows.map((record) => [record.sku, productRowOf(record)]));
    const changed = new Map<string, ProductRow>();
    for (const event of inventoryEvents) {
      const before = current.get(event.data.sku);
      const after = evolveProductRow(before, event);
      if (after && after !== before) {
        current.set(after.sku, after);
        changed.set(after.sku, after);
      }
    }
    if (changed.size === 0) return;
    const written = [...changed.values()];
    await db.query({
      name: `tidings_write_${tables.products}`,
      text: `INSERT INTO ${table} (sku, name, price_cents, currency, on_hand, reserved, available, version, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[], $9::bigint[])
       ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_cents = excluded.price_cents, currency = excluded.currency,
         on_hand = excluded.on_hand, reserved = excluded.reserved, available = excluded.available,
         version = excluded.version, position = excluded.position`,
      values: [
        written.map((row) => row.sku),
        written.map((row) => row.name),
        written.map((row) => row.priceCents),
        written.map((row) => row.currency),
        written.map((row) => row.onHand),
        written.map((row) => row.reserved),
        written.map((row) => row.available),
        written.map((row) => row.version),
        written.map((row) => row.position.toString()),
      ],
    });
  },
};

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
