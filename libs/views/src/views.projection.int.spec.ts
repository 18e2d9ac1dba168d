import type { RecordedEvent } from '@tidings/core';
import { ensureProjection, inTransaction, tablesOf } from '@tidings/read-models';
import { recordedStreams, useTestDatabase } from '@tidings/testing';
import { compactViewMinutes } from './views-compaction.repository';
import { viewsProjection } from './views.projection';
import { trendingVideos, videoViews } from './views.queries';
import { videoStreamId } from './views';

const stream = recordedStreams();
const videoStreams = new Map<string, ReturnType<typeof stream>>();
/** A view of `videoId` at `at`, recorded on the video's stream. */
const viewed = (videoId: string, at: string): RecordedEvent => {
  const video = videoStreams.get(videoId) ?? stream(videoStreamId(videoId));
  videoStreams.set(videoId, video);
  return video({ type: 'VideoViewed', data: { videoId, at } }, at);
};
const longAgo = new Date('2000-01-01T00:00:00Z');

describe('views projection on PostgreSQL', () => {
  const { pool } = useTestDatabase();
  beforeAll(async () => {
    await ensureProjection(pool, viewsProjection);
  });

  const apply = (events: RecordedEvent[]) => inTransaction(pool, (db) => viewsProjection.apply(db, events, tablesOf(viewsProjection, 1)));
  const rows = async () => (await pool.query<{ count: string }>('SELECT count(*) FROM video_views_minute')).rows[0].count;

  it('writes each (video, minute) of a batch once, adding to what earlier batches counted', async () => {
    const batch = [
      ...Array.from({ length: 300 }, () => viewed('rows-a', '2026-03-01T10:00:30.000Z')),
      ...Array.from({ length: 200 }, () => viewed('rows-b', '2026-03-01T10:00:59.999Z')),
      viewed('rows-a', '2026-03-01T10:01:00.000Z'),
    ];
    await apply(batch);
    await apply([viewed('rows-a', '2026-03-01T10:00:00.000Z')]);
    const range = { from: new Date('2026-03-01T10:00:00Z'), to: new Date('2026-03-01T10:02:00Z'), granularity: 'minute' as const };
    expect(await videoViews(pool, { videoId: 'rows-a', ...range }, longAgo)).toEqual({
      videoId: 'rows-a',
      from: '2026-03-01T10:00:00.000Z',
      to: '2026-03-01T10:02:00.000Z',
      granularity: 'minute',
      total: 302,
      buckets: [
        { start: '2026-03-01T10:00:00.000Z', count: 301 },
        { start: '2026-03-01T10:01:00.000Z', count: 1 },
      ],
    });
    expect((await videoViews(pool, { videoId: 'rows-b', ...range }, longAgo)).buckets.map((bucket) => bucket.count)).toEqual([200, 0]);
    expect(await rows()).toBe('3');
  });

  it('zero-fills hours and days and sums minutes into them', async () => {
    await apply([viewed('fill', '2026-03-02T10:59:59.999Z'), viewed('fill', '2026-03-02T11:00:00.000Z'), viewed('fill', '2026-03-02T11:30:00.000Z'), viewed('fill', '2026-03-04T00:00:00.000Z')]);
    const hours = await videoViews(pool, { videoId: 'fill', from: new Date('2026-03-02T09:00:00Z'), to: new Date('2026-03-02T12:00:00Z'), granularity: 'hour' }, longAgo);
    expect(hours.buckets).toEqual([
      { start: '2026-03-02T09:00:00.000Z', count: 0 },
      { start: '2026-03-02T10:00:00.000Z', count: 1 },
      { start: '2026-03-02T11:00:00.000Z', count: 2 },
    ]);
    const days = await videoViews(pool, { videoId: 'fill', from: new Date('2026-03-02T00:00:00Z'), to: new Date('2026-03-05T00:00:00Z'), granularity: 'day' }, longAgo);
    expect(days.buckets.map((bucket) => bucket.count)).toEqual([3, 0, 1]);
    expect(days.total).toBe(4);
  });

  it('moves old minutes into hours without changing any answer across the boundary, and counts a late view of a moved minute', async () => {
    const video = 'compacted';
    await apply([viewed(video, '2026-02-01T08:15:00.000Z'), viewed(video, '2026-02-01T08:45:00.000Z'), viewed(video, '2026-02-01T09:10:00.000Z'), viewed(video, '2026-02-02T12:00:00.000Z')]);
    const range = { videoId: video, from: new Date('2026-02-01T08:00:00Z'), to: new Date('2026-02-03T00:00:00Z') };
    const beforeHours = await videoViews(pool, { ...range, granularity: 'hour' }, longAgo);
    const beforeDays = await videoViews(pool, { ...range, granularity: 'day' }, longAgo);

    const moved = await compactViewMinutes(pool, new Date('2026-02-01T09:30:00Z'));
    expect(moved).toBeGreaterThanOrEqual(2);
    const minutesLeft = await pool.query(`SELECT minute FROM video_views_minute WHERE video_id = $1 ORDER BY minute`, [video]);
    // Only whole hours move: 09:10 belongs to an hour not yet over the boundary.
    expect(minutesLeft.rows.map((row: { minute: Date }) => row.minute.toISOString())).toEqual(['2026-02-01T09:10:00.000Z', '2026-02-02T12:00:00.000Z']);
    expect(await videoViews(pool, { ...range, granularity: 'hour' }, longAgo)).toEqual(beforeHours);
    expect(await videoViews(pool, { ...range, granularity: 'day' }, longAgo)).toEqual(beforeDays);

    await apply([viewed(video, '2026-02-01T08:59:59.999Z')]);
    await compactViewMinutes(pool, new Date('2026-02-01T09:30:00Z'));
    const after = await videoViews(pool, { ...range, granularity: 'hour' }, longAgo);
    expect(after.buckets[0]).toEqual({ start: '2026-02-01T08:00:00.000Z', count: 3 });
    expect(after.total).toBe(beforeHours.total + 1);
  });

  it('ranks trending videos by views in the window, most first, ties by id', async () => {
    const now = new Date('2026-05-01T12:00:00Z');
    await apply([
      ...Array.from({ length: 5 }, () => viewed('trend-b', '2026-05-01T11:30:00.000Z')),
      ...Array.from({ length: 3 }, () => viewed('trend-a', '2026-05-01T11:59:00.000Z')),
      ...Array.from({ length: 3 }, () => viewed('trend-c', '2026-05-01T11:01:00.000Z')),
      ...Array.from({ length: 9 }, () => viewed('trend-old', '2026-05-01T10:00:00.000Z')),
    ]);
    expect(await trendingVideos(pool, { window: '1h', limit: 3, now })).toEqual([
      { videoId: 'trend-b', views: 5 },
      { videoId: 'trend-a', views: 3 },
      { videoId: 'trend-c', views: 3 },
    ]);
    expect((await trendingVideos(pool, { window: '24h', limit: 1, now }))[0]).toEqual({ videoId: 'trend-old', views: 9 });
  });

  it('counts in trending the views of the hour its window starts in once they are compacted into that hour', async () => {
    const now = new Date('2026-06-01T11:30:00Z');
    await apply(Array.from({ length: 4 }, () => viewed('trend-folded', '2026-06-01T10:45:00.000Z')));
    const before = await trendingVideos(pool, { window: '1h', limit: 100, now });
    expect(before).toContainEqual({ videoId: 'trend-folded', views: 4 });
    await compactViewMinutes(pool, new Date('2026-06-01T11:00:00Z'));
    expect(await trendingVideos(pool, { window: '1h', limit: 100, now })).toContainEqual({ videoId: 'trend-folded', views: 4 });
  });
});
