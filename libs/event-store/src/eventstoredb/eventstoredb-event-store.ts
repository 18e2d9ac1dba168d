import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  MaxAppendSizeExceededError,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  isSystemStream,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  type CurrentRevision,
  type Direction,
  type JSONType,
  type Position,
  type ReadPosition,
  type ReadStreamOptions,
  type RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import {
  EventIdConflict,
  EventsTooLarge,
  WrongExpectedVersion,
  type AllSubscription,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type ExpectedVersion,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '@tidings/core';
import { CallsInFlight } from '../calls-in-flight';
import { inBursts } from './in-bursts';

const MAX_READ_ALL_PAGE_SIZE = 1000;
const HEAD_SCAN_PAGE_SIZE = 64;
/** Most events a subscription page holds. */
const MAX_SUBSCRIPTION_PAGE = 1000;

export class EventStoreDbEventStore implements EventStore {
  private readonly calls = new CallsInFlight('EventStoreDB');

  constructor(private readonly client: EventStoreDBClient) {}

  /**
   * EventStoreDB deduplicates a retried batch by event id only (exact revision / no_stream: the ids found at the
   * claimed revisions; any / stream_exists: a bounded cache of recent ids) and answers exactly as it answered the
   * original write: same revision, position of the stored last event. It never compares bodies, so a success
   * cannot tell a fresh write from a replay with a different body. Hence every accepted batch is read back at
   * the revisions it now occupies (one cheap read by revision) and compared; a rejected one is read back to tell
   * a replay or a reused id from a plain version conflict.
   */
  async append(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedVersion }: Readonly<{ expectedVersion: ExpectedVersion }>,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError(`append to ${streamId} needs at least one event`);
    return this.calls.run(async () => {
      const outcome = await this.tryAppend(streamId, events, expectedVersion);
      if (outcome instanceof WrongExpectedVersionError) {
        return this.settleRejectedAppend(streamId, events, expectedVersion, outcome);
      }
      return this.verifyAcceptedAppend(streamId, events, Number(outcome) - events.length + 1);
    });
  }

  readStream(streamId: string, { fromVersion = 0 }: Readonly<{ fromVersion?: number }> = {}): Promise<RecordedEvent[]> {
    return this.calls.run(() => this.readStreamEvents(streamId, { fromRevision: BigInt(fromVersion) }));
  }

  /** EventStoreDB's single writer assigns log positions in commit order, so reading `$all` forwards is gap-free. */
  readAll({ fromPosition, limit }: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.calls.run(async () => {
      const found: RecordedEvent[] = [];
      if (limit <= 0) return found;
      const pageSize = Math.min(limit + 1, MAX_READ_ALL_PAGE_SIZE);
      for await (const event of this.scanAll(FORWARDS, toReadPosition(fromPosition), pageSize)) {
        if (!isUserEvent(event)) continue;
        found.push(toRecordedEvent(event));
        if (found.length === limit) break;
      }
      return found;
    });
  }

  /** The server itself resumes after `fromPosition` (exclusive), so the checkpoint is passed through unchanged. */
  subscribeToAll({ fromPosition }: SubscribeOptions = {}): AllSubscription {
    const subscription = this.client.subscribeToAll({
      fromPosition: toReadPosition(fromPosition),
      filter: excludeSystemEvents(),
    });
    return new EventStoreDbAllSubscription(subscription);
  }

  headPosition(): Promise<bigint> {
    return this.calls.run(async () => {
      for await (const event of this.scanAll(BACKWARDS, END, HEAD_SCAN_PAGE_SIZE)) {
        if (isUserEvent(event)) return toGlobalPosition(event.position);
      }
      return 0n;
    });
  }

  async close(): Promise<void> {
    await this.calls.close();
    await this.client.dispose();
  }

  /**
   * An append that gets no answer in time (or loses its connection) throws as the client does:
   * the command path, or a request retried under its Idempotency-Key, sends the same ids again,
   * and the server answers a stored batch as it did. It also drops a repeat that arrives before
   * the first is indexed, leaving that caller to time out ("IdempotentNotReady").
   */
  private async tryAppend(
    streamId: string,
    events: readonly EventToAppend[],
    expectedVersion: ExpectedVersion,
  ): Promise<bigint | WrongExpectedVersionError> {
    try {
      const result = await this.client.appendToStream(streamId, events.map(toEventData), {
        expectedRevision: toExpectedRevision(expectedVersion),
      });
      return result.nextExpectedRevision;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return error;
      if (error instanceof MaxAppendSizeExceededError) throw new EventsTooLarge(streamId, error.maxAppendSize);
      throw error;
    }
  }

  private async verifyAcceptedAppend(
    streamId: string,
    events: readonly EventToAppend[],
    firstVersion: number,
  ): Promise<AppendResult> {
    const stored = await this.readStoredBatch(streamId, firstVersion, events.length);
    const differingIds = events.filter((event, slot) => !isSameEvent(event, stored[slot])).map(idOf);
    if (differingIds.length > 0) throw new EventIdConflict(streamId, differingIds);
    return appendResultOf(stored);
  }

  private async settleRejectedAppend(
    streamId: string,
    events: readonly EventToAppend[],
    expectedVersion: ExpectedVersion,
    rejection: WrongExpectedVersionError,
  ): Promise<AppendResult> {
    const actualVersion = toVersion(rejection.actualVersion);
    const firstVersion = firstVersionClaimedBy(expectedVersion);
    if (firstVersion === undefined) {
      // With any / stream_exists on an existing stream, the server only refuses a batch whose leading ids it has
      // already stored in this stream while the rest differ ("corrupted idempotency"); it does not say where.
      if (actualVersion === -1) throw new WrongExpectedVersion(streamId, expectedVersion, actualVersion);
      throw new EventIdConflict(streamId, events.map(idOf));
    }
    const stored = await this.readStoredBatch(streamId, firstVersion, events.length);
    if (isSameBatch(events, stored)) return appendResultOf(stored);
    const reusedIds = idsStoredElsewhereOrDifferently(events, stored);
    if (reusedIds.length > 0) throw new EventIdConflict(streamId, reusedIds);
    throw new WrongExpectedVersion(streamId, expectedVersion, actualVersion);
  }

  /** From the leader: a follower may not have replicated the write being checked yet. */
  private readStoredBatch(streamId: string, firstVersion: number, size: number): Promise<RecordedEvent[]> {
    return this.readStreamEvents(streamId, {
      fromRevision: BigInt(firstVersion),
      maxCount: size,
      requiresLeader: true,
    });
  }

  private async readStreamEvents(streamId: string, options: ReadStreamOptions): Promise<RecordedEvent[]> {
    try {
      const resolved = await collect(this.client.readStream(streamId, options));
      return resolved.flatMap(({ event }) => (event ? [toRecordedEvent(event)] : []));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  /** Every event of `$all` after `from` in `direction`, system ones included, fetched page by page. */
  private async *scanAll(
    direction: Direction,
    from: ReadPosition,
    pageSize: number,
  ): AsyncGenerator<AllStreamRecordedEvent> {
    let cursor = from;
    for (;;) {
      const page = await collect(this.client.readAll({ direction, fromPosition: cursor, maxCount: pageSize }));
      for (const { event } of page) {
        // Forward reads include the event at their start position; it was already seen (or is excluded).
        if (event && !isAtPosition(cursor, event.position)) yield event;
      }
      const last = page.at(-1)?.event;
      if (page.length < pageSize || !last) return;
      cursor = last.position;
    }
  }
}

export const openEventStoreDb = (connectionString: string): EventStoreDbEventStore =>
  new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));

class EventStoreDbAllSubscription implements AllSubscription {
  private unsubscribing?: Promise<void>;

  constructor(private readonly subscription: AllStreamSubscription) {}

  async *[Symbol.asyncIterator](): AsyncIterator<readonly RecordedEvent[]> {
    try {
      yield* inBursts(this.userEvents(), MAX_SUBSCRIPTION_PAGE);
    } finally {
      await this.close();
    }
  }

  private async *userEvents(): AsyncGenerator<RecordedEvent> {
    for await (const { event } of this.subscription) {
      if (event && isUserEvent(event)) yield toRecordedEvent(event);
    }
  }

  close(): Promise<void> {
    this.unsubscribing ??= this.subscription.unsubscribe();
    return this.unsubscribing;
  }
}

const toEventData = (event: EventToAppend) =>
  jsonEvent({ id: event.eventId, type: event.type, data: event.data as JSONType, metadata: event.metadata });

const toExpectedRevision = (expectedVersion: ExpectedVersion): AppendExpectedRevision =>
  typeof expectedVersion === 'number' ? BigInt(expectedVersion) : expectedVersion;

const toVersion = (revision: CurrentRevision): number => (revision === 'no_stream' ? -1 : Number(revision));

const firstVersionClaimedBy = (expectedVersion: ExpectedVersion): number | undefined => {
  if (typeof expectedVersion === 'number') return expectedVersion + 1;
  return expectedVersion === 'no_stream' ? 0 : undefined;
};

const appendResultOf = (stored: readonly RecordedEvent[]): AppendResult => {
  const last = stored[stored.length - 1];
  return { nextExpectedVersion: last.streamVersion, position: last.position };
};

const idOf = (event: EventToAppend): string => event.eventId;

const isSameBatch = (events: readonly EventToAppend[], stored: readonly RecordedEvent[]): boolean =>
  stored.length === events.length && events.every((event, slot) => isSameEvent(event, stored[slot]));

const isSameEvent = (event: EventToAppend, stored: RecordedEvent | undefined): boolean =>
  stored !== undefined && stored.eventId === event.eventId && hasSameContent(event, stored);

/** Metadata is left out on purpose: a retried command may carry, say, a new traceparent for the same event. */
const hasSameContent = (event: EventToAppend, stored: RecordedEvent): boolean =>
  stored.type === event.type && canonicalJson(stored.data) === canonicalJson(event.data);

const idsStoredElsewhereOrDifferently = (
  events: readonly EventToAppend[],
  stored: readonly RecordedEvent[],
): string[] =>
  events
    .filter((event, slot) => {
      const storedSlot = stored.findIndex((candidate) => candidate.eventId === event.eventId);
      return storedSlot !== -1 && (storedSlot !== slot || !hasSameContent(event, stored[storedSlot]));
    })
    .map(idOf);

/** Stored JSON comes back re-parsed, so key order must not decide equality (as with PostgreSQL's jsonb). */
const canonicalJson = (value: unknown): string => JSON.stringify(value, withSortedKeys);

const withSortedKeys = (_key: string, value: unknown): unknown =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
    : value;

const isUserEvent = (event: EsdbRecordedEvent): boolean =>
  !event.type.startsWith('$') && !isSystemStream(event.streamId);

const toRecordedEvent = (event: EsdbRecordedEvent): RecordedEvent => ({
  eventId: event.id,
  streamId: event.streamId,
  streamVersion: Number(event.revision),
  type: event.type,
  data: event.data,
  metadata: event.metadata as EventMetadata,
  position: toGlobalPosition(event.position),
  recordedAt: event.created,
});

/** What the server sends (ulong.MaxValue) when it does not know an event's position. */
const UNKNOWN_POSITION = 2n ** 64n - 1n;

/**
 * Every gRPC append is an implicitly committed write, and the server reports each of its events at
 * (own log position, own log position) — also for events of one batch — so `commit` alone is unique and
 * ordered like `$all`. Only legacy TCP explicit transactions share one commit position across events, and
 * servers before 22.6 give stream reads no position: refuse both rather than mis-order events.
 */
const toGlobalPosition = (position: Position | undefined): bigint => {
  if (position === undefined || !isSingleLogPosition(position)) {
    throw new Error(
      `EventStoreDB position ${String(position?.commit)}/${String(position?.prepare)} is not a single log position; ` +
        'Tidings needs EventStoreDB 22.6 or later and events written without explicit transactions',
    );
  }
  return position.commit;
};

const isSingleLogPosition = ({ commit, prepare }: Position): boolean =>
  commit === prepare && commit !== UNKNOWN_POSITION;

const toReadPosition = (position: bigint | undefined): ReadPosition =>
  position === undefined ? START : { commit: position, prepare: position };

const isAtPosition = (cursor: ReadPosition, position: Position): boolean =>
  typeof cursor === 'object' && cursor.commit === position.commit && cursor.prepare === position.prepare;

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
};
