import { checkRow, skuOf, withoutDuplicates, type ProductRow } from './import-row';

const check = (line: number, ...fields: string[]) => checkRow({ line, fields });

describe('an import row', () => {
  it('is a product when its four fields hold a sku, a name and whole numbers, trimmed', () => {
    expect(check(2, ' mug-1 ', ' Blue mug ', '1299', '25')).toEqual({ product: { line: 2, sku: 'mug-1', name: 'Blue mug', priceCents: 1299, quantity: 25 } });
    expect(check(3, 'free', 'Sticker', '0', '0')).toEqual({ product: { line: 3, sku: 'free', name: 'Sticker', priceCents: 0, quantity: 0 } });
  });

  it('reports each missing field, by line', () => {
    expect(check(7, '', '', '', '')).toEqual({ error: { line: 7, message: 'sku is missing; name is missing; priceCents is missing; quantity is missing' } });
  });

  it('refuses a price that is not a whole number of cents', () => {
    expect(check(4, 'mug', 'Mug', '12.99', '1')).toEqual({ error: { line: 4, message: 'priceCents must be a whole number, not "12.99"' } });
    expect(check(5, 'mug', 'Mug', 'abc', '1')).toEqual({ error: { line: 5, message: 'priceCents must be a whole number, not "abc"' } });
    expect(check(6, 'mug', 'Mug', '99999999999999999', '1')).toMatchObject({ error: { message: 'priceCents must be at most 9007199254740991' } });
  });

  it('refuses a negative quantity and one above a million', () => {
    expect(check(8, 'mug', 'Mug', '100', '-3')).toEqual({ error: { line: 8, message: 'quantity must not be negative' } });
    expect(check(9, 'mug', 'Mug', '100', '1000001')).toEqual({ error: { line: 9, message: 'quantity must be at most 1000000' } });
  });

  it('refuses a malformed sku, an overlong name, and a row with too few or too many fields', () => {
    expect(check(10, 'a sku', 'Mug', '1', '1')).toMatchObject({ error: { message: 'sku must be 1-64 characters of [A-Za-z0-9_-]' } });
    expect(check(11, 'mug', 'x'.repeat(201), '1', '1')).toMatchObject({ error: { message: 'name must be at most 200 characters' } });
    expect(check(12, 'mug', 'Mug', '1')).toEqual({ error: { line: 12, message: 'expected 4 fields (sku,name,priceCents,quantity), found 3' } });
    expect(check(13, 'mug', 'Mug', '1', '1', '')).toMatchObject({ error: { message: /found 5/ } });
  });

  it('is looked up by its sku only when the sku is well formed', () => {
    expect(skuOf(['mug-1', 'Mug'])).toBe('mug-1');
    expect(skuOf(['no good', 'Mug'])).toBeNull();
    expect(skuOf([])).toBeNull();
  });
});

describe('duplicate skus in a file', () => {
  const product = (line: number, sku: string): ProductRow => ({ line, sku, name: 'Mug', priceCents: 1, quantity: 1 });

  it('import from the first line a sku is on; later lines are refused, naming it', () => {
    const checked = withoutDuplicates([product(5, 'a'), product(6, 'b'), product(9, 'a')], new Map([['a', 5], ['b', 3]]));
    expect(checked).toEqual({
      products: [product(5, 'a')],
      errors: [
        { line: 6, message: 'duplicate sku b: already on line 3' },
        { line: 9, message: 'duplicate sku a: already on line 5' },
      ],
    });
  });
});
