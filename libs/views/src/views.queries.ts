import type { Pool } from 'pg';
import { InvalidViewRange } from './errors';
import { bucketMs, bucketStart, TRENDING_WINDOWS, VIEW_TIMES, type TrendingWindow, type ViewGranularity } from './views';

export const MAX_BUCKETS = 10_000;

export type ViewRange = Readonly<{ videoId: string; from: Date; to: Date; granularity: ViewGranularity }>;

/** A range query's defaults (API.md): to now, from a day before to. */
export function rangeWithDefaults({ from, to }: Readonly<{ from?: Date; to?: Date }>, now: Date): { from: Date; to: Date } {
  const end = to ?? now;
  return { from: from ?? new Date(end.getTime() - 86_400_000), to: end };
}

/** `GET /videos/:id/views` (API.md): every bucket of the range, empty ones included, and their total. */
export type VideoViews = Readonly<{ videoId: string; from: string; to: string; granularity: ViewGranularity; total: number; buckets: { start: string; count: number }[] }>;

/**
 * The buckets a range covers: `from` rounded down and `to` rounded up to the granularity
 * (UTC), at most 10,000 of them, within VIEW_TIMES. Minute buckets exist only for the minutes the compaction job
 * has not yet folded into hours: older minutes are refused rather than answered wrong.
 */
export function bucketsOf({ from, to, granularity }: Omit<ViewRange, 'videoId'>, minutesKeptSince: Date): { start: Date; end: Date; count: number } {
  if (!(from.getTime() < to.getTime())) throw new InvalidViewRange(`from (${from.toISOString()}) must be before to (${to.toISOString()})`);
  const size = bucketMs(granularity);
  const start = bucketStart(from, granularity);
  const end = new Date(Math.ceil(to.getTime() / size) * size);
  if (start.getTime() < VIEW_TIMES.first.getTime() || end.getTime() > VIEW_TIMES.last.getTime()) {
    throw new InvalidViewRange(`views are counted from ${VIEW_TIMES.first.toISOString()} to ${VIEW_TIMES.last.toISOString()}; the range's ${granularity} buckets run from ${start.toISOString()} to ${end.toISOString()}`);
  }
  const count = (end.getTime() - start.getTime()) / size;
  if (count > MAX_BUCKETS) throw new InvalidViewRange(`the range holds ${count} ${granularity} buckets; at most ${MAX_BUCKETS} are answered`);
  if (granularity === 'minute' && start.getTime() < minutesKeptSince.getTime()) {
    throw new InvalidViewRange(`minute buckets are kept since ${minutesKeptSince.toISOString()}; ask for hour or day buckets before that`);
  }
  return { start, end, count };
}

/**
 * Counts of a video's range. Minute rows are summed into hours or days, and hours older than the
 * minute retention come from the hour table: nothing scans raw events, and a range across the
 * compaction boundary adds both sides (a minute is in exactly one of the tables).
 */
export async function videoViews(pool: Pool, range: ViewRange, minutesKeptSince: Date): Promise<VideoViews> {
  const { videoId, granularity } = range;
  const { start, end, count } = bucketsOf(range, minutesKeptSince);
  const { rows } = await pool.query<{ start: Date; count: string }>({
    name: 'tidings_video_views',
    text: `SELECT date_bin($4::interval, at, timestamptz '2000-01-01 00:00:00+00') AS start, sum(count)::bigint AS count
           FROM (SELECT minute AS at, count FROM video_views_minute WHERE video_id = $1 AND minute >= $2 AND minute < $3
                 UNION ALL
                 SELECT hour, count FROM video_views_hour WHERE video_id = $1 AND hour >= $2 AND hour < $3) AS counted
           GROUP BY 1`,
    values: [videoId, start.toISOString(), end.toISOString(), `${bucketMs(granularity) / 1000} seconds`],
  });
  const counted = new Map(rows.map((row) => [row.start.getTime(), Number(row.count)]));
  const size = bucketMs(granularity);
  const buckets = Array.from({ length: count }, (_, index) => {
    const at = start.getTime() + index * size;
    return { start: new Date(at).toISOString(), count: counted.get(at) ?? 0 };
  });
  return { videoId, from: start.toISOString(), to: end.toISOString(), granularity, total: buckets.reduce((sum, bucket) => sum + bucket.count, 0), buckets };
}

/** The most viewed videos since `now - window` (from the start of that minute), most first; ties by video id. */
export async function trendingVideos(pool: Pool, { window, limit, now }: { window: TrendingWindow; limit: number; now: Date }): Promise<{ videoId: string; views: number }[]> {
  const since = bucketStart(new Date(now.getTime() - TRENDING_WINDOWS[window]), 'minute');
  // Minutes compacted into hours are counted by the hour: the hour the window starts in counts whole (dropped whole, its minutes since the window's start went uncounted).
  const { rows } = await pool.query<{ video_id: string; views: string }>({
    name: 'tidings_trending_videos',
    text: `SELECT video_id, sum(count)::bigint AS views
           FROM (SELECT video_id, count FROM video_views_minute WHERE minute >= $1
                 UNION ALL
                 SELECT video_id, count FROM video_views_hour WHERE hour >= $2) AS counted
           GROUP BY video_id ORDER BY views DESC, video_id LIMIT $3`,
    values: [since.toISOString(), bucketStart(since, 'hour').toISOString(), limit],
  });
  return rows.map((row) => ({ videoId: row.video_id, views: Number(row.views) }));
}
