import type { EventToAppend, RecordedEvent } from './message';

/**
 * `number`: the stream's current 0-based version must equal it; `no_stream`: the stream must
 * not exist; `stream_exists`: it must; `any`: no check.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export type AppendResult = Readonly<{
  /** Version of the stream's last event after the append. */
  nextExpectedVersion: number;
  /** Global position of the last appended event. */
  position: bigint;
}>;

export type ReadAllOptions = Readonly<{
  /** Exclusive: events with a position greater than this. Defaults to the start. */
  fromPosition?: bigint;
  limit: number;
}>;

export type SubscribeOptions = Readonly<{
  /** Exclusive, like a checkpoint: the subscription delivers events after this position. */
  fromPosition?: bigint;
}>;

/**
 * A catch-up-then-live feed of `$all`, in position order, delivered in pages: each page is what
 * the store had ready (never empty). Stop it with `close()` or by leaving the loop.
 */
export interface AllSubscription extends AsyncIterable<readonly RecordedEvent[]> {
  close(): Promise<void>;
}

/** The event store port (ARCHITECTURE §3); adapters live in libs/event-store. */
export interface EventStore {
  /** Appends atomically; throws WrongExpectedVersion, EventIdConflict or EventsTooLarge. Re-appending stored events is a no-op. */
  append(
    streamId: string,
    events: readonly EventToAppend[],
    options: Readonly<{ expectedVersion: ExpectedVersion }>,
  ): Promise<AppendResult>;
  readStream(streamId: string, options?: Readonly<{ fromVersion?: number }>): Promise<RecordedEvent[]>;
  /** Gap-safe: never skips an event that commits later at an earlier position. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeOptions): AllSubscription;
  /** Position of the last event a reader of `$all` can see now (0 when empty). */
  headPosition(): Promise<bigint>;
  close(): Promise<void>;
}
