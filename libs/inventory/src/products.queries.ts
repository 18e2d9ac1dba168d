import type { Pool } from 'pg';

/** A product as the `products` read model answers it (API.md). */
export type ProductView = Readonly<{
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  onHand: number;
  reserved: number;
  available: number;
  version: number;
}>;

type ProductViewRecord = {
  sku: string;
  name: string;
  price_cents: string;
  currency: string;
  on_hand: number;
  reserved: number;
  available: number;
  version: number;
};

const COLUMNS = 'sku, name, price_cents, currency, on_hand, reserved, available, version';

export async function findProduct(pool: Pool, sku: string): Promise<ProductView | undefined> {
  const { rows } = await pool.query<ProductViewRecord>({ name: 'tidings_find_product', text: `SELECT ${COLUMNS} FROM products WHERE sku = $1`, values: [sku] });
  return rows[0] && toView(rows[0]);
}

/** One page in sku order, after the sku `after` (keyset pagination: stable under inserts). */
export async function listProducts(pool: Pool, { limit, after }: Readonly<{ limit: number; after?: string }>): Promise<{ items: ProductView[]; last?: string }> {
  const { rows } = await pool.query<ProductViewRecord>({
    name: 'tidings_list_products',
    text: `SELECT ${COLUMNS} FROM products WHERE $1::text IS NULL OR sku > $1 ORDER BY sku LIMIT $2`,
    values: [after ?? null, limit + 1],
  });
  const items = rows.slice(0, limit).map(toView);
  return rows.length > limit ? { items, last: items[items.length - 1].sku } : { items };
}

const toView = (record: ProductViewRecord): ProductView => ({
  sku: record.sku,
  name: record.name,
  priceCents: Number(record.price_cents),
  currency: record.currency,
  onHand: record.on_hand,
  reserved: record.reserved,
  available: record.available,
  version: record.version,
});
