import type { Pool, PoolClient } from 'pg';
import type { EventStore, RecordedEvent } from '@tidings/core';
import { categoryOf, groupPartitions } from '@tidings/messaging';
import { consumerGroupOf, tablesOf, type Projection } from './projection';
import { createTables, currentVersion, dropTables, ensureProjection, pointViewsAt } from './projection-registry';
import { connectClient } from './database';
import { inSavepoint, inTransaction, isTransient } from './transaction';

export type RebuildProgress = Readonly<{ position: bigint; head: bigint; events: number }>;

export type RebuildOptions = Readonly<{
  pool: Pool;
  databaseUrl: string;
  store: EventStore;
  projection: Projection;
  /** TIDINGS_PARTITIONS: each partition of the projection's consumer group (groupPartitions) gets the rebuilt position as checkpoint. */
  partitions: number;
  pageSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  /** Stops the rebuild between pages (an operator's Ctrl-C): it fails as interrupted, and the live version stays. */
  signal?: AbortSignal;
}>;

/** A rebuild that failed, kept until the next one starts: the version it was building, why, and when (ISO 8601). */
export type RebuildFailure = Readonly<{ version: number; reason: string; at: string }>;

/** A failed rebuild in a line, for operators. */
export const describeRebuildFailure = ({ version, reason, at }: RebuildFailure): string => `the rebuild to version ${version} failed at ${at}: ${reason}`;

export type RebuildReport = Readonly<{ name: string; version: number; position: bigint; events: number; seconds: number }>;

export class RebuildAlreadyRunning extends Error {
  override readonly name = 'RebuildAlreadyRunning';
}

export class RebuildInterrupted extends Error {
  override readonly name = 'RebuildInterrupted';
}

export class RebuildRefused extends Error {
  override readonly name = 'RebuildRefused';
}

/** The event a rebuild could not apply, and why: what an operator looks at before deploying the fix. */
export class RebuildFailed extends Error {
  override readonly name = 'RebuildFailed';

  constructor(projection: string, event: RecordedEvent, cause: unknown) {
    super(`${projection} cannot apply ${event.type} ${event.eventId} (stream ${event.streamId}, version ${event.streamVersion}, position ${event.position}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

// Advisory lock class for rebuilds, held while one runs; the object id is the projection name's hash.
export const REBUILD_LOCK_CLASS = 1952804354;
/** Catch up without holding the live projector back until this close to head. */
const SWITCH_WITHIN = 1_000n;

/**
 * Blue/green rebuild (ARCHITECTURE §5): fills version N+1's tables from the store's `$all`
 * while readers and the live projector keep using version N, then — holding every partition's
 * checkpoint, so the projector waits — catches up to head, points the views at N+1, moves the
 * checkpoints to the rebuilt position and drops N. A failure leaves version N in place.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildReport> {
  const { pool, store, projection } = options;
  const started = Date.now();
  const lock = await connectClient(options.databaseUrl, 'tidings-rebuild');
  try {
    const { rows } = await lock.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS held', [
      REBUILD_LOCK_CLASS,
      projection.name,
    ]);
    if (!rows[0].held) throw new RebuildAlreadyRunning(`a rebuild of ${projection.name} is already running`);
    // Checked again when the checkpoints are held; here, before anything is built.
    await refusedForPartitions(pool, consumerGroupOf(projection), groupPartitions(options, projection.categories));
    const version = (await ensureProjection(pool, projection)) + 1;
    const tables = await inTransaction(pool, (db) => createTables(db, projection, version));
    const head = await store.headPosition();
    await setStatus(pool, projection.name, 'rebuilding', { version, head: head.toString() });
    try {
      let events = 0;
      const progress = (position: bigint, applied: number) => {
        events += applied;
        options.onProgress?.({ position, head: position > head ? position : head, events });
      };
      const inPages = (events: readonly RecordedEvent[]) => inTransaction(pool, (db) => projection.apply(db, events, tables));
      const caughtUp = await catchUp(options, inPages, 0n, head - SWITCH_WITHIN, progress);
      const position = await inTransaction(pool, async (db) => {
        await lockAllCheckpoints(db, consumerGroupOf(projection), groupPartitions(options, projection.categories));
        const previous = await currentVersion(db, projection.name);
        // Each page under a savepoint: a page that fails is written again event by event, in this transaction, to name the one that fails.
        const inSavepoints = (events: readonly RecordedEvent[]) => inSavepoint(db, () => projection.apply(db, events, tables));
        const final = await catchUp(options, inSavepoints, caughtUp, undefined, progress);
        await pointViewsAt(db, tables);
        if (previous !== undefined) await dropTables(db, tablesOf(projection, previous));
        await db.query(
          `UPDATE checkpoints SET position = $2, read_model_version = $3, blocked_position = NULL, blocked_error = NULL, blocked_at = NULL, updated_at = now()
           WHERE consumer_group = $1`,
          [consumerGroupOf(projection), final.toString(), version],
        );
        // Every event is in the rebuilt tables now, parked ones included.
        await db.query('DELETE FROM dead_letters WHERE consumer_group = $1', [consumerGroupOf(projection)]);
        await db.query("UPDATE projections SET version = $2, status = 'live', rebuilding = NULL, updated_at = now() WHERE name = $1", [
          projection.name,
          version,
        ]);
        return final;
      });
      return { name: projection.name, version, position, events, seconds: (Date.now() - started) / 1000 };
    } catch (error) {
      await inTransaction(pool, (db) => dropTables(db, tables)).catch(() => undefined);
      // Kept for operators until the next rebuild (projectionStatuses: lastRebuildFailure).
      const failed: RebuildFailure = { version, reason: (error as Error).message ?? String(error), at: new Date().toISOString() };
      await setStatus(pool, projection.name, 'live', { failed }).catch(() => undefined);
      throw error;
    }
  } finally {
    await lock.end();
  }
}

/**
 * Writes `$all` after `from` to the new tables page by page, reading the next page while the
 * current one is written; stops at `until` or at the end.
 */
async function catchUp(
  { store, projection, pageSize = 5_000, signal }: RebuildOptions,
  write: (events: readonly RecordedEvent[]) => Promise<void>,
  from: bigint,
  until: bigint | undefined,
  progress: (position: bigint, applied: number) => void,
): Promise<bigint> {
  const categories = new Set(projection.categories);
  let position = from;
  let next = store.readAll({ fromPosition: position, limit: pageSize });
  for (;;) {
    if (until !== undefined && position >= until) {
      await next.catch(() => undefined);
      return position;
    }
    const page = await next;
    if (signal?.aborted) throw new RebuildInterrupted(`the rebuild of ${projection.name} was interrupted`);
    if (page.length === 0) return position;
    position = page[page.length - 1].position;
    next = store.readAll({ fromPosition: position, limit: pageSize });
    const relevant = page.filter((event) => categories.has(categoryOf(event.streamId)));
    if (relevant.length) await write(relevant).catch((error: unknown) => failingEvent(projection.name, write, relevant, error));
    progress(position, relevant.length);
    if (page.length < pageSize) {
      await next.catch(() => undefined);
      return position;
    }
  }
}

/**
 * Why a page could not be written, from the event that fails when the page is written again one
 * event at a time (the rebuild fails either way, and its tables go). A transient failure (the
 * database away) and an event that fails only in company keep the page's own error.
 */
async function failingEvent(projection: string, write: (events: readonly RecordedEvent[]) => Promise<void>, page: readonly RecordedEvent[], error: unknown): Promise<never> {
  if (isTransient(error)) throw error;
  for (const event of page) {
    await write([event]).catch((cause: unknown) => {
      throw isTransient(cause) ? cause : new RebuildFailed(projection, event, cause);
    });
  }
  throw error;
}

/**
 * Holds every checkpoint row of the group, one per partition of `partitions`. Rows of partitions
 * beyond it (TIDINGS_PARTITIONS made smaller, which takes this rebuild) would stand still for good
 * in the status: they go — unless a live member still holds one (refusedForPartitions).
 */
async function lockAllCheckpoints(db: PoolClient, group: string, partitions: number): Promise<void> {
  await db.query(
    `INSERT INTO checkpoints (consumer_group, partition, position) SELECT $1, p, 0 FROM generate_series(0, $2 - 1) AS p
     ON CONFLICT DO NOTHING`,
    [group, partitions],
  );
  await db.query('SELECT partition FROM checkpoints WHERE consumer_group = $1 ORDER BY partition FOR UPDATE', [group]);
  await refusedForPartitions(db, group, partitions);
  await db.query('DELETE FROM checkpoints WHERE consumer_group = $1 AND partition >= $2', [group, partitions]);
}

/**
 * A rebuild for fewer partitions than live members hold (an operator's shell without the
 * deployment's TIDINGS_PARTITIONS) is refused: their checkpoints must not go from under them.
 */
async function refusedForPartitions(db: Pool | PoolClient, group: string, partitions: number): Promise<void> {
  const { rows } = await db.query<{ partition: number }>('SELECT partition FROM consumer_leases WHERE consumer_group = $1 AND partition >= $2 AND expires_at > now() ORDER BY partition', [group, partitions]);
  if (rows.length === 0) return;
  throw new RebuildRefused(`live members of ${group} hold partitions up to ${rows[rows.length - 1].partition}, beyond the ${partitions} this rebuild was given: rebuild with the deployment's TIDINGS_PARTITIONS, or stop its projectors first to change it`);
}

const setStatus = (pool: Pool, name: string, status: string, rebuilding: object | null) =>
  pool.query('UPDATE projections SET status = $2, rebuilding = $3, updated_at = now() WHERE name = $1', [name, status, rebuilding]);
