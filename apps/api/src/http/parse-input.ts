import { z } from 'zod';
import { problems } from './problem';

/** What a request part is called in a problem's detail. */
const PARTS = { body: 'body is', query: 'query is', params: 'path parameters are', headers: 'headers are' } as const;

/** Validates a body, query or header set against its schema (unknown fields refused); 400 with every issue otherwise. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown, where: 'body' | 'query' | 'params' | 'headers'): z.output<Schema> {
  // A query parameter given twice (`?limit=1&limit=2`) arrives as a list, which no parameter of the API takes: say so, not what the list is not.
  const repeated = where === 'query' && value !== null && typeof value === 'object' ? Object.entries(value).filter(([, given]) => Array.isArray(given)) : [];
  if (repeated.length > 0) throw problems.invalid("the request's query is not valid", repeated.map(([name]) => ({ path: `query.${name}`, message: 'given more than once' })));
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw problems.invalid(
    `the request's ${PARTS[where]} not valid`,
    result.error.issues.map((issue) => ({ path: [where, ...issue.path.map(String)].join('.'), message: issue.message })),
  );
}

/** The body of a command that takes none: nothing, or an empty object. */
export const noBody = z.strictObject({});

/**
 * An id we made as a UUID, given back in its canonical lowercase form: UUIDs are read without
 * regard to case (RFC 9562), and streams and rows are keyed by the form we answered.
 */
export const uuidId = (message: string) => z.uuid({ message }).transform((id) => id.toLowerCase());

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text PostgreSQL can store: no U+0000 and no unpaired surrogate (either would reach the database and fail there). */
export const storableText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => !text.includes('\u0000') && !LONE_SURROGATE.test(text), 'must not contain U+0000 or unpaired surrogates');
