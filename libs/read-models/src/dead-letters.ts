import type { Pool, PoolClient } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { consumerGroupOf, tablesOf, type Projection } from './projection';
import { currentVersion } from './projection-registry';
import { inTransaction } from './transaction';

export type DeadLetter = Readonly<{
  id: string;
  group: string;
  partition: number;
  position: bigint;
  eventId: string;
  streamId: string;
  type: string;
  error: string;
  attempts: number;
  parkedAt: Date;
}>;

type DeadLetterRow = {
  id: string;
  consumer_group: string;
  partition: number;
  position: string;
  event_id: string;
  stream_id: string;
  type: string;
  event: SerializedEvent;
  error: string;
  attempts: number;
  parked_at: Date;
};

type SerializedEvent = Omit<RecordedEvent, 'position' | 'recordedAt'> & { position: string; recordedAt: string };

export async function parkEvent(
  db: PoolClient,
  group: string,
  partition: number,
  event: RecordedEvent,
  error: string,
  attempts: number,
): Promise<void> {
  await db.query(
    `INSERT INTO dead_letters (consumer_group, partition, position, event_id, stream_id, type, event, error, attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (consumer_group, event_id) DO NOTHING`,
    [group, partition, event.position.toString(), event.eventId, event.streamId, event.type, serialize(event), error, attempts],
  );
}

export async function listDeadLetters(pool: Pool, group?: string): Promise<DeadLetter[]> {
  const { rows } = await pool.query<DeadLetterRow>(
    'SELECT * FROM dead_letters WHERE $1::text IS NULL OR consumer_group = $1 ORDER BY consumer_group, position',
    [group ?? null],
  );
  return rows.map(toDeadLetter);
}

/**
 * The dead letters of `group` (of every group without one). A group that holds none and that no
 * projection of this build consumes as (`knownGroups`) is most likely a typo: refused, naming
 * them. Letters of a group this build no longer runs are still listed.
 */
export async function deadLettersOf(pool: Pool, group: string | undefined, knownGroups: readonly string[]): Promise<DeadLetter[]> {
  const letters = await listDeadLetters(pool, group);
  if (group !== undefined && letters.length === 0 && !knownGroups.includes(group)) throw new UnknownConsumerGroup(group, knownGroups);
  return letters;
}

export class UnknownConsumerGroup extends Error {
  override readonly name = 'UnknownConsumerGroup';
  constructor(group: string, knownGroups: readonly string[]) {
    super(`no consumer group "${group}"; known: ${knownGroups.join(', ')}`);
  }
}

export class DeadLetterNotFound extends Error {
  override readonly name = 'DeadLetterNotFound';
  constructor(id: string) {
    super(`no dead letter ${id}`);
  }
}

export class DeadLetterOutOfOrder extends Error {
  override readonly name = 'DeadLetterOutOfOrder';
  constructor(id: string, earlier: string) {
    super(`dead letter ${id} waits behind dead letter ${earlier} of the same stream; replay or drop ${earlier} first`);
  }
}

/**
 * Applies a dead letter, and every later one of its stream that was parked behind it, to the
 * projection's current tables, and removes them — all in one transaction, so a replay applies
 * each event once or, if the projection still fails, changes nothing. Returns how many it applied.
 */
export async function replayDeadLetter(pool: Pool, id: string, projectionOf: (group: string) => Projection): Promise<number> {
  return inTransaction(pool, async (db) => {
    const first = await lockedDeadLetter(db, id);
    const { rows } = await db.query<DeadLetterRow>(
      'SELECT * FROM dead_letters WHERE consumer_group = $1 AND stream_id = $2 ORDER BY position FOR UPDATE',
      [first.consumer_group, first.stream_id],
    );
    if (rows[0].id !== first.id) throw new DeadLetterOutOfOrder(id, rows[0].id);
    const projection = projectionOf(first.consumer_group);
    if (consumerGroupOf(projection) !== first.consumer_group) throw new Error(`${first.consumer_group} is not ${projection.name}'s group`);
    const version = await currentVersion(db, projection.name);
    if (version === undefined) throw new Error(`projection ${projection.name} has no tables yet`);
    await projection.apply(db, rows.map((row) => deserialize(row.event)), tablesOf(projection, version));
    await db.query('DELETE FROM dead_letters WHERE id = ANY($1)', [rows.map((row) => row.id)]);
    return rows.length;
  });
}

/** Gives up on a dead letter: it is deleted and never applied. */
export async function dropDeadLetter(pool: Pool, id: string): Promise<DeadLetter> {
  return inTransaction(pool, async (db) => {
    const row = await lockedDeadLetter(db, id);
    await db.query('DELETE FROM dead_letters WHERE id = $1', [id]);
    return toDeadLetter(row);
  });
}

async function lockedDeadLetter(db: PoolClient, id: string): Promise<DeadLetterRow> {
  if (!/^\d{1,18}$/.test(id)) throw new DeadLetterNotFound(id);
  const { rows } = await db.query<DeadLetterRow>('SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new DeadLetterNotFound(id);
  return rows[0];
}

const serialize = (event: RecordedEvent): SerializedEvent => ({
  ...event,
  position: event.position.toString(),
  recordedAt: event.recordedAt.toISOString(),
});

const deserialize = (event: SerializedEvent): RecordedEvent => ({
  ...event,
  position: BigInt(event.position),
  recordedAt: new Date(event.recordedAt),
});

const toDeadLetter = (row: DeadLetterRow): DeadLetter => ({
  id: row.id,
  group: row.consumer_group,
  partition: row.partition,
  position: BigInt(row.position),
  eventId: row.event_id,
  streamId: row.stream_id,
  type: row.type,
  error: row.error,
  attempts: row.attempts,
  parkedAt: row.parked_at,
});
