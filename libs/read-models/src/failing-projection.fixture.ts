import type { Pool } from 'pg';
import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier } from './database';
import type { Projection } from './projection';

/**
 * A projection for the consumer and rebuild specs: it records every event it applies, in
 * order, in one table (view `<name>_events`), and throws on an event whose data says
 * `{ poison: true }` for as long as `poisonous` is set — the data condition an operator fixes
 * before resuming a partition or replaying a dead letter.
 */
export type FailingProjection = Projection & { poisonous: boolean; readonly view: string };

export type RecordedRow = Readonly<{ position: bigint; streamId: string; streamVersion: number; type: string }>;

export const isPoison = (event: RecordedEvent): boolean => (event.data as { poison?: unknown } | null)?.poison === true;

export function failingProjection(name: string, policy: 'block' | 'park', category = 'gadget'): FailingProjection {
  const view = `${name}_events`;
  const projection: FailingProjection = {
    name,
    view,
    categories: [category],
    policy,
    poisonous: true,
    tables: {
      [view]: (table) => `
        CREATE TABLE ${table} (
          seq            bigserial PRIMARY KEY,
          position       bigint    NOT NULL,
          stream_id      text      NOT NULL,
          stream_version int       NOT NULL,
          type           text      NOT NULL
        )`,
    },
    async apply(db, events, tables) {
      const poison = projection.poisonous ? events.find(isPoison) : undefined;
      if (poison) throw new Error(`${poison.streamId}@${poison.streamVersion} is poison`);
      await db.query(
        `INSERT INTO ${quoteIdentifier(tables[view])} (position, stream_id, stream_version, type)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[])`,
        [
          events.map((event) => event.position.toString()),
          events.map((event) => event.streamId),
          events.map((event) => event.streamVersion),
          events.map((event) => event.type),
        ],
      );
    },
  };
  return projection;
}

/** What the projection's view holds, in the order it was applied. */
export async function recordedRows(pool: Pool, projection: FailingProjection): Promise<RecordedRow[]> {
  const { rows } = await pool.query<{ position: string; stream_id: string; stream_version: number; type: string }>(
    `SELECT position, stream_id, stream_version, type FROM ${quoteIdentifier(projection.view)} ORDER BY seq`,
  );
  return rows.map((row) => ({ position: BigInt(row.position), streamId: row.stream_id, streamVersion: row.stream_version, type: row.type }));
}
