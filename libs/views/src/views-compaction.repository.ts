import type { Pool } from 'pg';
import { bucketStart } from './views';

/**
 * Moves minute buckets of whole hours older than `before` into hour buckets, in one statement
 * (one transaction): a minute is counted in exactly one table at every moment, so queries across
 * the boundary stay exact while it runs. A view counted later for a minute already moved lands
 * in a new minute row, moved by the next run. Safe to run from several processes at once: a
 * minute row is deleted, and so moved, once. Returns the minute rows moved.
 */
export async function compactViewMinutes(pool: Pool, before: Date): Promise<number> {
  const { rows } = await pool.query<{ moved: string }>({
    name: 'tidings_compact_view_minutes',
    text: `WITH moved AS (
             DELETE FROM video_views_minute WHERE minute < $1 RETURNING video_id, minute, count
           ), hours AS (
             INSERT INTO video_views_hour AS counted (video_id, hour, count)
             SELECT video_id, date_trunc('hour', minute, 'UTC'), sum(count) FROM moved GROUP BY 1, 2
             ON CONFLICT (video_id, hour) DO UPDATE SET count = counted.count + excluded.count
           )
           SELECT count(*) AS moved FROM moved`,
    values: [bucketStart(before, 'hour').toISOString()],
  });
  return Number(rows[0].moved);
}
