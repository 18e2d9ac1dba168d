import { z } from 'zod';

/**
 * The pages of the list named `list` (API.md): its `query` (`?limit=` 1-100, default 20,
 * `?cursor=` and `?minPosition=`), and `of`, a page of its items with, when there is more, the
 * cursor of the next page (opaque to clients). A cursor is the list's own: one another list
 * returned, or one edited, is refused.
 */
export function listPages(list: string) {
  return {
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z
        .string()
        .max(400)
        .transform((cursor, context) => {
          const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
          const key = decoded.startsWith(`${list}:`) ? decoded.slice(list.length + 1) : '';
          // A cursor we issued decodes to text and encodes back to itself; an edited one may not, or hold U+0000.
          if (!key || key.includes('\u0000') || Buffer.from(decoded, 'utf8').toString('base64url') !== cursor) {
            context.addIssue({ code: 'custom', message: `not a cursor this API returned for ${list}` });
          }
          return key;
        })
        .optional(),
      minPosition: z.string().optional(),
    }),
    of: <Item>(items: readonly Item[], last: string | undefined) => ({
      items,
      nextCursor: last === undefined ? null : Buffer.from(`${list}:${last}`, 'utf8').toString('base64url'),
    }),
  };
}
