import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { systemClock, type CommandMetadata, type EventStore, type EventToAppend } from '@tidings/core';
import { EVENT_STORE, SETTINGS } from '@tidings/platform';
import type { Settings } from '@tidings/settings';
import { MAX_VIEWS_PER_REQUEST, rangeWithDefaults, recordViews, trendingVideos, TRENDING_WINDOWS, VIEW_GRANULARITIES, videoViews, viewsProjection, type TrendingWindow } from '@tidings/views';
import type { Principal } from '../auth/tokens';
import { Metrics } from '../operations/metrics';
import { nameBasedUuid } from '../http/command-context';
import { parseInput } from '../http/parse-input';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';

const ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 characters of [A-Za-z0-9_-]');
const instant = z.iso.datetime({ offset: true, message: 'an ISO 8601 time such as 2026-03-01T10:00:00Z' }).transform((at) => new Date(at));

export const recordViewBody = z.strictObject({ viewerId: ID.optional() });
export const recordViewsBody = z.strictObject({
  views: z.array(z.strictObject({ videoId: ID, viewerId: ID.optional(), at: instant.optional() })).min(1).max(MAX_VIEWS_PER_REQUEST),
});
const viewsQuery = z.strictObject({ from: instant.optional(), to: instant.optional(), granularity: z.enum(VIEW_GRANULARITIES).default('hour'), minPosition: z.string().optional() });
const trendingQuery = z.strictObject({
  window: z.enum(Object.keys(TRENDING_WINDOWS) as [TrendingWindow, ...TrendingWindow[]]).default('24h'),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  minPosition: z.string().optional(),
});

/**
 * Views use cases, shared by REST and GraphQL. Recording appends with no expected version (a hot
 * video's writers never wait on each other) and event ids derived from the command id, so a
 * request retried under its Idempotency-Key counts each view once even if it was cut off halfway.
 */
@Injectable()
export class Views {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async recordOne(videoId: string, input: unknown, caller: Principal | undefined, metadata: CommandMetadata) {
    const { viewerId } = parseInput(recordViewBody, input, 'body');
    return this.record([{ videoId: parseInput(ID, videoId, 'params'), ...viewerOf(viewerId, caller) }], metadata);
  }

  async recordMany(input: unknown, caller: Principal | undefined, metadata: CommandMetadata) {
    const { views } = parseInput(recordViewsBody, input, 'body');
    return this.record(
      views.map(({ videoId, viewerId, at }) => ({ videoId, ...viewerOf(viewerId, caller), ...(at ? { at } : {}) })),
      metadata,
    );
  }

  async videoViews(videoId: string, query: unknown) {
    const { from, to, granularity, minPosition } = parseInput(viewsQuery, query, 'query');
    await this.readModels.awaitPosition(viewsProjection, minPosition);
    const now = systemClock.now();
    return videoViews(this.readModels.pool, { videoId: parseInput(ID, videoId, 'params'), ...rangeWithDefaults({ from, to }, now), granularity }, this.minutesKeptSince(now));
  }

  async trending(query: unknown) {
    const { window, limit, minPosition } = parseInput(trendingQuery, query, 'query');
    await this.readModels.awaitPosition(viewsProjection, minPosition);
    return trendingVideos(this.readModels.pool, { window, limit, now: systemClock.now() });
  }

  private async record(views: Parameters<typeof recordViews>[0]['data']['views'], metadata: CommandMetadata) {
    const eventIdOf = eventIdsOf(metadata.commandId);
    let index = 0;
    const appends = [...recordViews({ type: 'RecordViews', data: { views }, metadata })].map(([streamId, events]) =>
      this.store.append(
        streamId,
        events.map((event): EventToAppend => ({
          ...event,
          eventId: eventIdOf(index++),
          metadata: { correlationId: metadata.correlationId, causationId: metadata.commandId, actor: metadata.actor, schemaVersion: 1 },
        })),
        { expectedVersion: 'any' },
      ),
    );
    const appended = await Promise.all(appends);
    this.metrics.commands.inc({ command: 'RecordViews', outcome: 'accepted' });
    return { accepted: views.length, position: appended.reduce((last, { position }) => (position > last ? position : last), 0n) };
  }

  /** Hours older than this have been, or are about to be, folded from minutes into hours by the compaction job. */
  private minutesKeptSince(now: Date): Date {
    return new Date(now.getTime() - this.settings.views.minuteRetentionMs);
  }
}

/**
 * Whose view it is: the signed-in caller's own, unless they name a viewer — which only that
 * viewer or an admin may (an ingesting service records its users' views with an admin token).
 */
function viewerOf(viewerId: string | undefined, caller: Principal | undefined): { viewerId?: string } {
  if (viewerId === undefined) return caller ? { viewerId: caller.userId } : {};
  if (!caller) throw problems.unauthorized(`recording a view of viewer ${viewerId} needs that viewer's token or an admin's`);
  if (caller.userId !== viewerId && !caller.roles.includes('admin')) throw problems.forbidden(`only ${viewerId} or an admin may record views of ${viewerId}`);
  return { viewerId };
}

/**
 * UUIDs (version 8, name-based) of a request's views: the command id's (nameBasedUuid), with the
 * view's index in the last 8 hex digits. The same request names the same events; one hash per
 * request, not one per view (hashing each view was 7% of the API process's CPU in the views bench).
 */
function eventIdsOf(commandId: string): (index: number) => string {
  const prefix = nameBasedUuid(commandId).slice(0, 28);
  return (index) => `${prefix}${index.toString(16).padStart(8, '0')}`;
}
