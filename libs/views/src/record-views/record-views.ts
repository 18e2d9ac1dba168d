import type { Command } from '@tidings/core';
import { InvalidViews } from '../errors';
import { videoStreamId, VIEW_TIMES, type VideoViewed } from '../views';

export type ViewToRecord = Readonly<{ videoId: string; viewerId?: string; at?: Date }>;

export type RecordViews = Command<'RecordViews', { views: readonly ViewToRecord[] }>;

export const MAX_VIEWS_PER_REQUEST = 1_000;
/** Clocks of clients disagree a little; a view further in the future than this is refused. */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Views to append, by video stream. No state is consulted: a view is a fact about the past,
 * counted as it comes. A view without a time happened when the command was received; one before
 * the Unix epoch, or further in the future than clocks disagree, is refused.
 */
export function recordViews(command: RecordViews): ReadonlyMap<string, VideoViewed[]> {
  const { views } = command.data;
  const { now } = command.metadata;
  if (views.length === 0 || views.length > MAX_VIEWS_PER_REQUEST) throw new InvalidViews(`a request records 1 to ${MAX_VIEWS_PER_REQUEST} views, not ${views.length}`);
  const byStream = new Map<string, VideoViewed[]>();
  views.forEach(({ videoId, viewerId, at = now }, index) => {
    if (at.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) throw new InvalidViews(`view ${index} is in the future (${at.toISOString()})`);
    if (at.getTime() < VIEW_TIMES.first.getTime()) throw new InvalidViews(`view ${index} is before ${VIEW_TIMES.first.toISOString()} (${at.toISOString()})`);
    const streamId = videoStreamId(videoId);
    const event: VideoViewed = { type: 'VideoViewed', data: { videoId, ...(viewerId !== undefined ? { viewerId } : {}), at: at.toISOString() } };
    const events = byStream.get(streamId);
    if (events) events.push(event);
    else byStream.set(streamId, [event]);
  });
  return byStream;
}
