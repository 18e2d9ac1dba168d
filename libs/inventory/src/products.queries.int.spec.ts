import { ensureProjection, inTransaction, tablesOf } from '@tidings/read-models';
import { recordedStreams, useTestDatabase } from '@tidings/testing';
import { productStreamId } from './inventory';
import { productsProjection } from './products.projection';
import { ProductLookups } from './products.queries';

const stream = recordedStreams();

describe('ProductLookups on PostgreSQL', () => {
  const { pool } = useTestDatabase();
  beforeAll(async () => {
    await ensureProjection(pool, productsProjection);
    const registered = ['mug', 'lamp', 'kettle'].map((sku, index) =>
      stream(productStreamId(sku))({ type: 'ProductRegistered', data: { sku, name: sku, priceCents: 100 * (index + 1), currency: 'EUR' } }),
    );
    await inTransaction(pool, (db) => productsProjection.apply(db, registered, tablesOf(productsProjection, 1)));
  });

  it('answers lookups asked together in one query, each with its own skus only', async () => {
    const lookups = new ProductLookups(pool);
    let queries = 0;
    pool.on('acquire', () => queries++);
    const asked = [['mug'], ['lamp', 'kettle'], ['kettle', 'nope'], ['nope'], ...Array.from({ length: 16 }, () => ['mug', 'lamp'])];

    const answers = await Promise.all(asked.map((skus) => lookups.find(skus)));

    expect(answers.slice(0, 4).map((answer) => Object.fromEntries([...answer].map(([sku, product]) => [sku, product.priceCents])))).toEqual([
      { mug: 100 },
      { lamp: 200, kettle: 300 },
      { kettle: 300 },
      {},
    ]);
    expect(answers.slice(4).every((answer) => [...answer.keys()].join() === 'mug,lamp')).toBe(true);
    expect(queries).toBe(1);
  });

  it('reads each lookup after it was asked: a product registered before it is found', async () => {
    const lookups = new ProductLookups(pool);
    expect((await lookups.find(['teapot'])).size).toBe(0);
    const teapot = stream(productStreamId('teapot'))({ type: 'ProductRegistered', data: { sku: 'teapot', name: 'teapot', priceCents: 900, currency: 'EUR' } });
    await inTransaction(pool, (db) => productsProjection.apply(db, [teapot], tablesOf(productsProjection, 1)));
    expect((await lookups.find(['teapot'])).get('teapot')).toMatchObject({ sku: 'teapot', priceCents: 900 });
  });
});
