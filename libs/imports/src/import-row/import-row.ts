import { IMPORT_HEADER, type RowError } from '../imports';
import type { FileRow } from '../import-file/import-file';

/** A row that may be imported: register the sku (or revise it), then receive the quantity. */
export type ProductRow = Readonly<{ line: number; sku: string; name: string; priceCents: number; quantity: number }>;

const SKU_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAME_LENGTH = 200;
/** As `POST /products/:sku/stock` accepts. */
const MAX_QUANTITY = 1_000_000;
const WHOLE_NUMBER = /^[+-]?\d+$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type CheckedRow = Readonly<{ product: ProductRow }> | Readonly<{ error: RowError }>;

/** The row as a product, or every reason it is not one, in one message. */
export function checkRow({ line, fields }: FileRow): CheckedRow {
  if (fields.length !== IMPORT_HEADER.length) {
    return { error: { line, message: `expected ${IMPORT_HEADER.length} fields (${IMPORT_HEADER.join(',')}), found ${fields.length}` } };
  }
  const [sku, name, price, amount] = fields.map((field) => field.trim());
  const problems = [skuProblem(sku), nameProblem(name), numberProblem('priceCents', price, 0, Number.MAX_SAFE_INTEGER), numberProblem('quantity', amount, 0, MAX_QUANTITY)].filter(
    (problem): problem is string => problem !== undefined,
  );
  if (problems.length) return { error: { line, message: problems.join('; ') } };
  return { product: { line, sku, name, priceCents: Number(price), quantity: Number(amount) } };
}

/** The sku a stored row is looked up by to find duplicates: only a well-formed one. */
export const skuOf = (fields: readonly string[]): string | null => {
  const sku = fields[0]?.trim();
  return sku !== undefined && SKU_PATTERN.test(sku) ? sku : null;
};

/**
 * A sku imports once per file, from its first line: rows repeating a sku seen on an earlier
 * line (`firstLines`: sku → the first line it is on in the whole file) are refused.
 */
export function withoutDuplicates(products: readonly ProductRow[], firstLines: ReadonlyMap<string, number>): { products: ProductRow[]; errors: RowError[] } {
  const kept: ProductRow[] = [];
  const errors: RowError[] = [];
  for (const product of products) {
    const first = firstLines.get(product.sku) ?? product.line;
    if (first < product.line) errors.push({ line: product.line, message: `duplicate sku ${product.sku}: already on line ${first}` });
    else kept.push(product);
  }
  return { products: kept, errors };
}

function skuProblem(sku: string): string | undefined {
  if (sku === '') return 'sku is missing';
  return SKU_PATTERN.test(sku) ? undefined : 'sku must be 1-64 characters of [A-Za-z0-9_-]';
}

function nameProblem(name: string): string | undefined {
  if (name === '') return 'name is missing';
  if (name.length > MAX_NAME_LENGTH) return `name must be at most ${MAX_NAME_LENGTH} characters`;
  return LONE_SURROGATE.test(name) ? 'name must not hold unpaired surrogates' : undefined;
}

function numberProblem(field: string, value: string, min: number, max: number): string | undefined {
  if (value === '') return `${field} is missing`;
  if (!WHOLE_NUMBER.test(value)) return `${field} must be a whole number, not "${value.slice(0, 40)}"`;
  const number = Number(value);
  if (number < min) return `${field} must not be negative`;
  return number > max ? `${field} must be at most ${max}` : undefined;
}
