import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { groupPartitions, partitionAndCategory, type GroupBacklogs } from '@tidings/messaging';
import { consumerGroupOf, type Projection } from './projection';
import { REBUILD_LOCK_CLASS, type RebuildFailure } from './rebuild';

/** One of a projection's consumer group partitions: a partition and one of the projection's categories. */
export type PartitionStatus = Readonly<{
  partition: number;
  category: string;
  position: bigint;
  member?: string;
  blocked?: Readonly<{ position: bigint; error: string; since: Date }>;
}>;

export type ProjectionStatus = Readonly<{
  name: string;
  version: number | undefined;
  /** As operators see it everywhere (GET /admin/projections, the CLI): `stopped` before its first version exists. */
  status: 'stopped' | 'running' | 'rebuilding' | 'blocked';
  /** The furthest position applied by any partition. */
  position: bigint;
  head: bigint;
  /**
   * Events it has yet to apply: those of its categories that JetStream holds for its consumers
   * unacknowledged, plus every event the relay has not published yet. Without its consumers'
   * counts (no `backlogs`, or it has no consumers yet): positions between the store's head and
   * `position`, which also counts the events of other categories since.
   */
  lag: bigint;
  deadLetters: number;
  partitions: PartitionStatus[];
  lastRebuildFailure?: RebuildFailure;
}>;

export type StatusOptions = Readonly<{
  /** What JetStream says each group has yet to apply: the lag, where it says. */
  backlogs?: GroupBacklogs;
  /** TIDINGS_PARTITIONS: every partition of each group is listed, those that have applied nothing yet at position 0. */
  partitions?: number;
}>;

/**
 * Where each projection stands: version, status, its partitions (checkpoint, the member holding
 * its lease, a blocked one's error), dead letters, lag.
 */
export async function projectionStatuses(pool: Pool, store: EventStore, projections: readonly Projection[], { backlogs, partitions: partitionsEach }: StatusOptions = {}): Promise<ProjectionStatus[]> {
  const groups = projections.map(consumerGroupOf);
  const [{ rows: registry }, { rows: partitions }, { rows: parked }] = await Promise.all([
    // A rebuild holds its advisory lock (of this database: each has its own) while it runs: a status still `rebuilding` without it is a rebuild whose process ended (kill -9).
    pool.query<RegistryRow>(
      `SELECT name, version, status, rebuilding, updated_at,
              EXISTS (SELECT 1 FROM pg_locks
                      WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        AND classid = $2::oid AND objid = hashtext(name)::oid AND objsubid = 2 AND granted) AS rebuild_running
       FROM projections WHERE name = ANY($1)`,
      [projections.map((projection) => projection.name), REBUILD_LOCK_CLASS],
    ),
    // A partition whose member has applied nothing yet has a lease and no checkpoint.
    pool.query<{ consumer_group: string; partition: number; position: string | null; member: string | null; blocked_position: string | null; blocked_error: string | null; blocked_at: Date | null }>(
      `SELECT k.consumer_group, k.partition, c.position, l.member, c.blocked_position, c.blocked_error, c.blocked_at
       FROM (SELECT consumer_group, partition FROM checkpoints WHERE consumer_group = ANY($1)
             UNION SELECT consumer_group, partition FROM consumer_leases WHERE consumer_group = ANY($1) AND expires_at > now()) k
       LEFT JOIN checkpoints c ON c.consumer_group = k.consumer_group AND c.partition = k.partition
       LEFT JOIN consumer_leases l ON l.consumer_group = k.consumer_group AND l.partition = k.partition AND l.expires_at > now()
       ORDER BY k.partition`,
      [groups],
    ),
    pool.query<{ consumer_group: string; count: string }>(
      'SELECT consumer_group, count(*) FROM dead_letters WHERE consumer_group = ANY($1) GROUP BY consumer_group',
      [groups],
    ),
  ]);
  // Read after the checkpoints: what they hold was in $all before, so no position shows beyond head (read first, it could, under writes).
  const head = await store.headPosition();
  return projections.map((projection) => {
    const group = consumerGroupOf(projection);
    const known = registry.find((row) => row.name === projection.name);
    const rows = new Map(partitions.filter((row) => row.consumer_group === group).map((row) => [row.partition, row]));
    const listed = partitionsEach === undefined ? 0 : groupPartitions({ partitions: partitionsEach }, projection.categories);
    const indices = [...new Set([...rows.keys(), ...Array.from({ length: listed }, (_, index) => index)])].sort((a, b) => a - b);
    const mine: PartitionStatus[] = indices.map((index) => {
      const row = rows.get(index);
      return {
        ...partitionAndCategory(projection.categories, index),
        position: BigInt(row?.position ?? 0),
        ...(row?.member ? { member: row.member } : {}),
        ...(row?.blocked_position ? { blocked: { position: BigInt(row.blocked_position), error: row.blocked_error ?? '', since: row.blocked_at as Date } } : {}),
      };
    });
    const position = mine.reduce((furthest, partition) => (partition.position > furthest ? partition.position : furthest), 0n);
    const rebuilding = known?.status === 'rebuilding' && known.rebuild_running;
    const lastRebuildFailure = known && !rebuilding ? failedRebuild(known) : undefined;
    const status = !known ? 'stopped' : rebuilding ? 'rebuilding' : mine.some((partition) => partition.blocked) ? 'blocked' : 'running';
    return {
      name: projection.name,
      version: known?.version,
      status,
      position,
      head,
      lag: lagOf(head, position, backlogs, group),
      deadLetters: Number(parked.find((row) => row.consumer_group === group)?.count ?? 0),
      partitions: mine,
      ...(lastRebuildFailure ? { lastRebuildFailure } : {}),
    };
  });
}

/** The last rebuild's failure: the one it recorded, or, when its process ended without a word (kill -9), that it was interrupted. */
function failedRebuild(known: RegistryRow): RebuildFailure | undefined {
  if (known.status === 'live') return known.rebuilding?.failed;
  // When it died is not known: `at` is when it started.
  const started = known.updated_at.toISOString();
  return { version: known.rebuilding?.version ?? 0, reason: `interrupted: the process that started it at ${started} ended before it finished`, at: started };
}

/** A projection's row in the registry, and whether a rebuild of it holds its lock now. */
type RegistryRow = Readonly<{ name: string; version: number; status: 'live' | 'rebuilding'; rebuilding: { version?: number; failed?: RebuildFailure } | null; updated_at: Date; rebuild_running: boolean }>;

const behind = (head: bigint, position: bigint): bigint => (head > position ? head - position : 0n);

function lagOf(head: bigint, position: bigint, backlogs: GroupBacklogs | undefined, group: string): bigint {
  const unapplied = backlogs?.unapplied.get(group);
  if (backlogs === undefined || unapplied === undefined) return behind(head, position);
  return BigInt(unapplied) + behind(head, backlogs.published);
}

/** Lets blocked partitions of a projection go on: their failing event is tried again. Returns how many were blocked. */
export async function resumeProjection(pool: Pool, projection: Projection): Promise<number> {
  const { rowCount } = await pool.query(
    `UPDATE checkpoints SET blocked_position = NULL, blocked_error = NULL, blocked_at = NULL
     WHERE consumer_group = $1 AND blocked_position IS NOT NULL`,
    [consumerGroupOf(projection)],
  );
  return rowCount ?? 0;
}
