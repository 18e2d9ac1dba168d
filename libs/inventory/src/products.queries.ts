import type { Pool } from 'pg';
import { Coalescer } from '@tidings/core';
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

/**
 * findProducts for many callers at once, as the store's group commit is for appends: lookups
 * asked while one is being answered leave together in the next query, and each caller gets its
 * own skus. Under load the API asks PostgreSQL once per batch of orders, not once per order;
 * every answer is still read after its lookup was asked.
 */
export class ProductLookups {
  private readonly lookups: Coalescer<{ skus: readonly string[] }, Map<string, ProductView>>;

  constructor(pool: Pool) {
    this.lookups = new Coalescer(
      async (batch) => {
        const found = await findProducts(pool, [...new Set(batch.flatMap(({ skus }) => skus))]);
        for (const { skus, resolve } of batch) resolve(new Map(skus.flatMap((sku) => found.get(sku) ?? []).map((product) => [product.sku, product])));
      },
      { maxInFlight: 2 },
    );
  }

  find(skus: readonly string[]): Promise<Map<string, ProductView>> {
    return this.lookups.submit({ skus });
  }
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
