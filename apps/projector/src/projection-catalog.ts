import { importJobsProjection, type ImportProgress } from '@tidings/imports';
import { productsProjection } from '@tidings/inventory';
import type { Notification } from '@tidings/messaging';
import { ordersProjection } from '@tidings/orders';
import type { Projection } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { feedProjection, type FeedItemAdded } from '@tidings/social';
import { viewsProjection } from '@tidings/views';

export type ProjectionCatalogOptions = Readonly<{
  /** Where the projector sends live notifications once a batch has committed (rebuilds and operator tools send none). */
  notify?: (notification: Notification) => void;
}>;

/** Every read model the projector keeps, and the CLI and admin API rebuild, as configured. */
export const projectionCatalog = (settings: Pick<Settings, 'social'>, { notify }: ProjectionCatalogOptions = {}): readonly Projection[] => [
  productsProjection,
  ordersProjection,
  viewsProjection,
  feedProjection({
    celebrityFollowers: settings.social.celebrityFollowers,
    ...(notify ? { onFeedItems: (items: readonly FeedItemAdded[]) => items.forEach((item) => notify(feedNotification(item))) } : {}),
  }),
  importJobsProjection(notify ? { onProgress: (progress) => importNotifications(progress).forEach(notify) } : {}),
];

/** API.md WebSocket `feed`: each new item of a user's feed, on the user's own channel (`feed:<userId>`). */
const feedNotification = ({ userId, ...item }: FeedItemAdded): Notification => ({ channel: `feed:${userId}`, type: 'item', data: item });

/** API.md WebSocket `import:<jobId>` (and the uploader's `X-Channel-Id`): each chunk done, then the end; the errors are read with GET /imports/:jobId. */
const importNotifications = ({ type, channels, job: { errors: _errors, ...job } }: ImportProgress): Notification[] => channels.map((channel) => ({ channel, type, data: job }));
