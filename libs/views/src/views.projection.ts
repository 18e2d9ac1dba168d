import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier, writingProjection, type Projection } from '@tidings/read-models';
import { bucketStart, type VideoViewed } from './views';

/** (video, minute) → views of a batch: the batch's counts, one per key. */
export function countsByMinute(events: readonly RecordedEvent[]): Map<string, { videoId: string; minute: Date; count: number }> {
  const counts = new Map<string, { videoId: string; minute: Date; count: number }>();
  for (const event of events) {
    if (event.type !== 'VideoViewed') continue;
    const { videoId, at } = (event as RecordedEvent<VideoViewed>).data;
    const minute = bucketStart(new Date(at), 'minute');
    const key = `${videoId}\u0000${minute.getTime()}`;
    const counted = counts.get(key);
    if (counted) counted.count++;
    else counts.set(key, { videoId, minute, count: 1 });
  }
  return counts;
}

/**
 * View counts per (video, minute). A batch is counted in memory first and each key written
 * once, adding to what is there, in the transaction that moves the checkpoint: a batch is
 * counted exactly once, whatever is redelivered. Views arrive by the thousand per second, so
 * batches are let grow while they keep coming (up to 50,000 views, or 10 s after the first is
 * delivered), and go 150 ms after the last: a key is written once per batch, not once per view,
 * and the counts lag a flood by at most 10 s and a trickle by 150 ms (a flood's views arrive
 * well under a millisecond apart). A steady stream of a few views a second is never quiet for
 * 150 ms: a batch under 1,000 views after 3 s goes then, well within the 5 s a query's
 * `minPosition` waits (lingering 10 s made a viewer's own view unreadable, 503, under such a
 * stream; lingering 3 s for every batch made a flood's 0.017–0.023 rows per view, from 0.010). Minutes older than the retention are moved
 * into `video_views_hour` by the compaction job (views-compaction.repository.ts).
 */
export const viewsProjection: Projection = writingProjection({
  name: 'views',
  categories: ['video'],
  batching: { maxEvents: 50_000, lingerMs: 10_000, quietMs: 150, trickle: { lingerMs: 3_000, underEvents: 1_000 } },
  tables: {
    video_views_minute: (table) => `
      CREATE TABLE ${table} (
        video_id text        NOT NULL,
        minute   timestamptz NOT NULL,
        count    bigint      NOT NULL,
        PRIMARY KEY (video_id, minute)
      );
      CREATE INDEX ON ${table} (minute) INCLUDE (video_id, count)`,
    video_views_hour: (table) => `
      CREATE TABLE ${table} (
        video_id text        NOT NULL,
        hour     timestamptz NOT NULL,
        count    bigint      NOT NULL,
        PRIMARY KEY (video_id, hour)
      );
      CREATE INDEX ON ${table} (hour) INCLUDE (video_id, count)`,
  },

  write(events, tables) {
    const counts = [...countsByMinute(events).values()];
    if (counts.length === 0) return [];
    return [
      {
        name: `tidings_count_${tables.video_views_minute}`,
        text: `INSERT INTO ${quoteIdentifier(tables.video_views_minute)} AS counted (video_id, minute, count)
               SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
               ON CONFLICT (video_id, minute) DO UPDATE SET count = counted.count + excluded.count`,
        values: [counts.map((count) => count.videoId), counts.map((count) => count.minute.toISOString()), counts.map((count) => count.count)],
      },
    ];
  },
});
