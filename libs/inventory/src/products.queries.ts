import type { Pool } from 'pg';
import { productRowOf, type ProductRecord, type ProductRow } from './products.projection';

/** A product as the `products` read model answers it (API.md). */
export type ProductView = Omit<ProductRow, 'position'>;

export async function findProduct(pool: Pool, sku: string): Promise<ProductView | undefined> {
  return (await findProducts(pool, [sku])).get(sku);
}

/** The products of `skus` the read model has, by sku, in one query (an order's lines). */
export async function findProducts(pool: Pool, skus: readonly string[]): Promise<Map<string, ProductView>> {
  const { rows } = await pool.query<ProductRecord>({ name: 'tidings_find_products', text: 'SELECT * FROM products WHERE sku = ANY($1)', values: [skus] });
  return new Map(rows.map((row) => [row.sku, toView(row)]));
}

/** One page in sku order, after the sku `after` (keyset pagination: stable under inserts). */
export async function listProducts(pool: Pool, { limit, after }: Readonly<{ limit: number; after?: string }>): Promise<{ items: ProductView[]; last?: string }> {
  const { rows } = await pool.query<ProductRecord>({
    name: 'tidings_list_products',
    text: 'SELECT * FROM products WHERE $1::text IS NULL OR sku > $1 ORDER BY sku LIMIT $2',
    values: [after ?? null, limit + 1],
  });
  const items = rows.slice(0, limit).map(toView);
  return rows.length > limit ? { items, last: items[items.length - 1].sku } : { items };
}

const toView = (record: ProductRecord): ProductView => {
  const { position: _position, ...view } = productRowOf(record);
  return view;
};
