import { z } from 'zod';

/** `?limit=` (1-100, default 20), `?cursor=` and `?minPosition=` of every list (API.md). */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .max(400)
    .transform((cursor, context) => {
      const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
      // A cursor we issued decodes to text and encodes back to itself; an edited one may not, or hold U+0000.
      if (!decoded || decoded.includes('\u0000') || Buffer.from(decoded, 'utf8').toString('base64url') !== cursor) {
        context.addIssue({ code: 'custom', message: 'not a cursor this API returned' });
      }
      return decoded;
    })
    .optional(),
  minPosition: z.string().optional(),
});

/** A list answer: the items and, when there is more, the cursor of the next page (opaque to clients). */
export const pageOf = <Item>(items: readonly Item[], last: string | undefined) => ({
  items,
  nextCursor: last === undefined ? null : Buffer.from(last, 'utf8').toString('base64url'),
});
