import type { Message } from '@tidings/core';

/** One view of a video; `viewerId` when the viewer was signed in, `at` when it happened (ISO 8601, UTC). */
export type VideoViewed = Message<'VideoViewed', { videoId: string; viewerId?: string; at: string }>;

export type ViewsEvent = VideoViewed;

/**
 * A video's views: a stream nobody reads to decide, appended to with no expected version, so
 * writers of a hot video never wait on each other's versions (group commit carries them).
 */
export const videoStreamId = (videoId: string): string => `video-${videoId}`;

export const VIEW_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type ViewGranularity = (typeof VIEW_GRANULARITIES)[number];

const BUCKET_MS: Record<ViewGranularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The UTC-aligned bucket a moment falls in: 10:59:59.999 is in 10:59 (and 10:00), 11:00:00.000 in 11:00. */
export const bucketStart = (at: Date, granularity: ViewGranularity): Date => new Date(Math.floor(at.getTime() / BUCKET_MS[granularity]) * BUCKET_MS[granularity]);

export const bucketMs = (granularity: ViewGranularity): number => BUCKET_MS[granularity];

/**
 * The times views are counted in: none happened before the Unix epoch, and no bucket of a range
 * ends after 9999-12-31T00:00Z (so even a day bucket ends within ISO 8601's four-digit years).
 */
export const VIEW_TIMES = { first: new Date('1970-01-01T00:00:00.000Z'), last: new Date('9999-12-31T00:00:00.000Z') } as const;

export const TRENDING_WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type TrendingWindow = keyof typeof TRENDING_WINDOWS;
