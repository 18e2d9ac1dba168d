import { Pool, type PoolConfig } from 'pg';
import {
  EventIdConflict,
  type AllSubscription,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedVersion,
  type ReadAllOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '@tidings/core';
import { DATABASE_CONNECT_TIMEOUT_MS } from '@tidings/settings';
import { CallsInFlight } from '../calls-in-flight';
import { AppendNotifications } from './append-notifications';
import { GroupCommit } from './group-commit';

export type PostgresEventStoreOptions = Readonly<{
  connectionString: string;
  /** Connections for reads and batch commits. */
  poolSize?: number;
  /** Events per group-commit transaction. */
  maxBatchEvents?: number;
  /** Group-commit transactions in flight at once. */
  maxInFlightBatches?: number;
  /** How often a live subscriber looks for new events when no NOTIFY wakes it. */
  pollIntervalMs?: number;
  /** Events a subscriber reads per query while catching up. */
  subscriptionPageSize?: number;
}>;

type EventRow = {
  position: string;
  event_id: string;
  stream_id: string;
  stream_version: string;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: Date;
};

const COLUMNS = 'position, event_id, stream_id, stream_version, type, data, metadata, recorded_at';
/**
 * Only events before which nothing can still appear. `tidings_append` takes positions in the
 * order of transaction ids, so an event is settled when every transaction below its id that
 * could still append has ended: each one in progress in this statement's snapshot, except
 * those that pg_stat_activity (read after the snapshot was taken) shows running under another
 * name than `tidings-append` (migration AppendsNamed1764500000000) — they took their id
 * outside `tidings_append`, and an append must be its transaction's first write — or in
 * another database of the server, whose appends go to its own events table. So only a slower
 * append to this store holds readers back, not the read models' and sagas' transactions. A
 * session whose transaction id this role may not see counts as a possible append.
 *
 * What this relies on:
 * - each read is a statement of its own: inside a longer transaction, pg_stat_activity would
 *   be the one read by its first statement, older than the snapshot;
 * - nothing renames a transaction after its append (the store's appends are single statements);
 * - a primary: a standby's snapshots list running transactions apart from where
 *   pg_snapshot_xip looks, so there readers wait for every running transaction, as before.
 */
const SETTLED = `transaction_id < (
  SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(pg_current_snapshot())
              ELSE least(pg_snapshot_xmax(pg_current_snapshot()), min(running)) END
    FROM pg_snapshot_xip(pg_current_snapshot()) AS running
   WHERE running::text::bigint % 4294967296 NOT IN (
     SELECT backend_xid::text::bigint FROM pg_stat_get_activity(NULL)
      WHERE backend_xid IS NOT NULL
        AND (application_name <> 'tidings-append' OR datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))))`;

export class PostgresEventStore implements EventStore {
  private readonly pool: Pool;
  private readonly groupCommit: GroupCommit;
  private readonly notifications: AppendNotifications;
  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly calls = new CallsInFlight('PostgreSQL');

  constructor(options: PostgresEventStoreOptions) {
    // No connectionTimeoutMillis on a pool: it would also bound the wait for a free connection, and fail appends that only queue.
    const config: PoolConfig = { connectionString: options.connectionString, max: options.poolSize ?? 10 };
    this.pool = new Pool(config);
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
    this.groupCommit = new GroupCommit(this.pool, {
      maxBatchEvents: options.maxBatchEvents ?? 2_000,
      maxInFlight: options.maxInFlightBatches ?? 2,
    });
    this.notifications = new AppendNotifications({ connectionString: options.connectionString, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.pageSize = options.subscriptionPageSize ?? 1_000;
  }

  async append(
    streamId: string,
    events: readonly EventToAppend[],
    { expectedVersion }: Readonly<{ expectedVersion: ExpectedVersion }>,
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError(`append to ${streamId} needs at least one event`);
    if (new Set(events.map((event) => event.eventId)).size !== events.length) {
      throw new EventIdConflict(streamId, events.map((event) => event.eventId));
    }
    return this.calls.run(() => this.groupCommit.append({ streamId, events, expectedVersion }));
  }

  readStream(streamId: string, { fromVersion = 0 }: Readonly<{ fromVersion?: number }> = {}): Promise<RecordedEvent[]> {
    return this.calls.run(async () => {
      const { rows } = await this.pool.query<EventRow>({
        name: 'tidings_read_stream',
        text: `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version`,
        values: [streamId, fromVersion],
      });
      return rows.map(toRecordedEvent);
    });
  }

  readAll({ fromPosition = 0n, limit }: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.calls.run(async () => {
      const { rows } = await this.pool.query<EventRow>({
        name: 'tidings_read_all',
        text: `SELECT ${COLUMNS} FROM events WHERE position > $1 AND ${SETTLED} ORDER BY position LIMIT $2`,
        values: [fromPosition.toString(), limit],
      });
      return rows.map(toRecordedEvent);
    });
  }

  subscribeToAll({ fromPosition = 0n }: SubscribeOptions = {}): AllSubscription {
    const stop = { requested: false, signal: () => undefined as void };
    const stopped = new Promise<void>((resolve) => (stop.signal = resolve));
    const iterator = this.follow(fromPosition, stop, stopped);
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: async () => {
        stop.requested = true;
        stop.signal();
        await iterator.return(undefined);
      },
    };
  }

  /** Catch-up by pages, then live: sleep until a NOTIFY, the poll interval, or close. */
  private async *follow(
    fromPosition: bigint,
    stop: { readonly requested: boolean },
    stopped: Promise<void>,
  ): AsyncGenerator<readonly RecordedEvent[]> {
    let position = fromPosition;
    let prefetched: Promise<RecordedEvent[]> | undefined;
    while (!stop.requested) {
      const seen = this.notifications.current();
      const page = await (prefetched ?? this.readAll({ fromPosition: position, limit: this.pageSize }));
      // A full page means more is waiting: read it while this one is being consumed.
      prefetched = page.length === this.pageSize ? this.readAll({ fromPosition: page[page.length - 1].position, limit: this.pageSize }) : undefined;
      prefetched?.catch(() => undefined);
      if (stop.requested) return;
      if (page.length > 0) {
        yield page;
        position = page[page.length - 1].position;
      }
      if (page.length < this.pageSize) {
        await Promise.race([this.notifications.waitAfter(seen, this.pollIntervalMs), stopped]);
      }
    }
  }

  headPosition(): Promise<bigint> {
    return this.calls.run(async () => {
      const { rows } = await this.pool.query<{ head: string }>(
        `SELECT coalesce(max(position), 0) AS head FROM events WHERE ${SETTLED}`,
      );
      return BigInt(rows[0].head);
    });
  }

  async close(): Promise<void> {
    await this.calls.close();
    await this.notifications.close();
    await this.pool.end();
  }
}

const toRecordedEvent = (row: EventRow): RecordedEvent => ({
  eventId: row.event_id,
  streamId: row.stream_id,
  streamVersion: Number(row.stream_version),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
  position: BigInt(row.position),
  recordedAt: row.recorded_at,
});
