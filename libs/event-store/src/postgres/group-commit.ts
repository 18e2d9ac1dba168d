import type { Pool } from 'pg';
import {
  Coalescer,
  EventIdConflict,
  WrongExpectedVersion,
  type AppendResult,
  type EventToAppend,
  type ExpectedVersion,
  type Waiting,
} from '@tidings/core';

export type AppendRequest = Readonly<{
  streamId: string;
  events: readonly EventToAppend[];
  expectedVersion: ExpectedVersion;
}>;

type Pending = Waiting<AppendRequest, AppendResult>;

type Outcome = { outcome: string; version: string; last_position: string | null };

export type GroupCommitOptions = Readonly<{
  /** Events per transaction; a batch closes at this size. */
  maxBatchEvents: number;
  /** Batches in flight at once: while one commits, the next one forms. */
  maxInFlight: number;
}>;

const EXPECTED_CODES = { no_stream: -1, any: -2, stream_exists: -3 } as const;

/**
 * Group commit: appends that arrive while a batch is in flight wait and leave together in the
 * next one — one call of `tidings_append`, one transaction, one round trip — and each caller
 * still gets its own result. A request that repeats an event id of the batch waits for the next.
 */
export class GroupCommit {
  private readonly appends: Coalescer<AppendRequest, AppendResult>;

  constructor(
    private readonly pool: Pool,
    { maxBatchEvents, maxInFlight }: GroupCommitOptions,
  ) {
    this.appends = new Coalescer((batch) => this.commit(batch), { maxInFlight, batchRule: () => appendsThatFit(maxBatchEvents) });
  }

  append(request: AppendRequest): Promise<AppendResult> {
    return this.appends.submit(request);
  }

  private async commit(batch: Pending[]): Promise<void> {
    let rows: Outcome[];
    try {
      rows = (await this.pool.query<Outcome>(appendQuery(batch))).rows;
    } catch (error) {
      // One bad request must not fail its neighbours: retry each on its own.
      if (batch.length > 1 && !isConnectionError(error)) {
        await Promise.all(batch.map((request) => this.commit([request])));
      } else {
        for (const request of batch) request.reject(translate(error, request));
      }
      return;
    }
    batch.forEach((request, i) => settle(request, rows[i]));
  }
}

/** Up to `maxBatchEvents` events (the first request whatever its size), no event id twice. */
function appendsThatFit(maxBatchEvents: number): (request: AppendRequest) => boolean {
  const ids = new Set<string>();
  let events = 0;
  return (request) => {
    const fits = events === 0 || events + request.events.length <= maxBatchEvents;
    if (!fits || request.events.some((event) => ids.has(event.eventId))) return false;
    events += request.events.length;
    for (const event of request.events) ids.add(event.eventId);
    return true;
  };
}

export const appendQuery = (batch: readonly AppendRequest[]) => {
  const streamIds = [...new Set(batch.map((request) => request.streamId))];
  const slotOf = new Map(streamIds.map((streamId, i) => [streamId, i + 1]));
  const events = batch.flatMap((request) => request.events);
  return {
    name: 'tidings_append',
    text: `SELECT * FROM tidings_append($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[],
                                      $6::uuid[], $7::text[], $8::jsonb, $9::jsonb)`,
    values: [
      streamIds,
      batch.map((request) => slotOf.get(request.streamId)),
      batch.map((request) => expectedCode(request.expectedVersion)),
      batch.map((request) => request.events.length),
      batch.flatMap((request, i) => request.events.map(() => i + 1)),
      events.map((event) => event.eventId),
      events.map((event) => event.type),
      JSON.stringify(events.map((event) => event.data)),
      JSON.stringify(events.map((event) => event.metadata)),
    ],
  };
};

const expectedCode = (expected: ExpectedVersion): number =>
  typeof expected === 'number' ? expected : EXPECTED_CODES[expected];

const settle = (request: Pending, row: Outcome): void => {
  const version = Number(row.version);
  switch (row.outcome) {
    case 'ok':
    case 'duplicate':
      request.resolve({ nextExpectedVersion: version, position: BigInt(row.last_position ?? 0) });
      return;
    case 'wrong_expected_version':
      request.reject(new WrongExpectedVersion(request.streamId, request.expectedVersion, version));
      return;
    case 'event_id_conflict':
      request.reject(eventIdConflict(request));
      return;
    default:
      request.reject(new Error(`tidings_append returned an unknown outcome: ${row.outcome}`));
  }
};

const eventIdConflict = (request: AppendRequest) =>
  new EventIdConflict(
    request.streamId,
    request.events.map((event) => event.eventId),
  );

const translate = (error: unknown, request: AppendRequest): unknown =>
  isPgError(error) && error.code === '23505' && error.constraint === 'events_event_id_key'
    ? eventIdConflict(request)
    : error;

type PgError = Error & { code?: string; constraint?: string };

const isPgError = (error: unknown): error is PgError => error instanceof Error && 'code' in error;

/** Errors without a SQLSTATE come from the socket, not from a request: retrying alone won't help. */
const isConnectionError = (error: unknown): boolean =>
  !isPgError(error) || typeof error.code !== 'string' || error.code.startsWith('08') || error.code.startsWith('57P');
