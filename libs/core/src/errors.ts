import type { ExpectedVersion } from './event-store.port';

/** The stream is not at the version the writer expected (HTTP 409). */
export class WrongExpectedVersion extends Error {
  override readonly name = 'WrongExpectedVersion';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    /** The stream's current version, or -1 when it does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId} is at version ${actual}, expected ${String(expected)}`);
  }
}

/** An event id is already stored with a different stream, position or content (HTTP 409). */
export class EventIdConflict extends Error {
  override readonly name = 'EventIdConflict';
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
  ) {
    super(`event ids already stored with different content or place: ${eventIds.join(', ')} (stream ${streamId})`);
  }
}

/** The events of one append are more than the store takes at once (EventStoreDB's MaxAppendSize; HTTP 413): nothing is stored. */
export class EventsTooLarge extends Error {
  override readonly name = 'EventsTooLarge';
  constructor(
    readonly streamId: string,
    readonly maxBytes: number,
  ) {
    super(`the events of one append to ${streamId} are more than the event store takes at once (${maxBytes} bytes)`);
  }
}

/** A command was refused by a business rule (HTTP 422). */
export class BusinessRuleViolation extends Error {
  override readonly name = 'BusinessRuleViolation';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
