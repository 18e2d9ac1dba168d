import type { z } from 'zod';
import { problems } from './problem';

/** Validates a body, query or header set against its schema (unknown fields refused); 400 with every issue otherwise. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown, where: 'body' | 'query' | 'params'): z.output<Schema> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw problems.invalid(
    `the request ${where} is not valid`,
    result.error.issues.map((issue) => ({ path: [where, ...issue.path.map(String)].join('.'), message: issue.message })),
  );
}
