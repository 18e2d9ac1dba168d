import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: one append-only `events` table and `tidings_append`, the only write path
 * (one call appends a whole group-commit batch).
 *
 * Gap safety: positions are taken under an advisory lock together with the transaction id, so
 * position order equals transaction-id order. A reader that only returns events whose
 * transaction id is below the oldest running transaction (`pg_snapshot_xmin`) therefore
 * never skips an event that an earlier, slower transaction commits later.
 */
export class EventStore1763700000000 implements MigrationInterface {
  name = 'EventStore1763700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE SEQUENCE events_position_seq AS bigint;

      CREATE TABLE events (
        position        bigint      PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        event_id        uuid        NOT NULL CONSTRAINT events_event_id_key UNIQUE,
        stream_id       text        NOT NULL,
        stream_version  bigint      NOT NULL CHECK (stream_version >= 0),
        type            text        NOT NULL,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
      );

      CREATE FUNCTION tidings_refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % on events is not allowed', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$;

      CREATE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION tidings_refuse_event_change();
      CREATE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION tidings_refuse_event_change();
    `);
    await db.query(APPEND_FUNCTION);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP FUNCTION tidings_append(text[], int[], bigint[], int[], int[], uuid[], text[], jsonb, jsonb);
      DROP TABLE events;
      DROP FUNCTION tidings_refuse_event_change();
      DROP SEQUENCE events_position_seq;
    `);
  }
}

/**
 * Appends a batch of requests in one transaction. Each request is one caller's
 * append(stream, events, expectedVersion). Per request: its stream (an index into the batch's
 * distinct streams), expected version (>= 0 exact, -1 no stream, -2 any, -3 stream exists)
 * and event count; per event, concatenated in request order: its request, id and type, and
 * (as one JSON array each, cheaper to send than arrays of jsonb) its data and metadata. Returns one row per request: 'ok' | 'duplicate' (every event id already stored
 * with the same stream, type and data: an idempotent retry) | 'event_id_conflict' |
 * 'wrong_expected_version', with the stream's version and the last event's position.
 *
 * Per-stream advisory locks (held to commit, taken before any transaction id) serialize
 * writers of a stream. The global append lock is held only while the transaction id and the
 * block of positions are taken: that pairing is all gap safety needs, so batches insert and
 * commit in parallel.
 */
export const APPEND_FUNCTION = `
CREATE FUNCTION tidings_append(
  p_stream_ids text[], p_slots int[], p_expected bigint[], p_counts int[],
  p_event_requests int[], p_event_ids uuid[], p_types text[], p_data jsonb, p_metadata jsonb
) RETURNS TABLE (outcome text, version bigint, last_position bigint)
LANGUAGE plpgsql
-- Lookups must stay on the indexes even while the table is young and its statistics say "tiny".
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
  append_lock constant bigint := 7305014520460374433;
  stream_lock_class constant int := 1952804352;
  n int := cardinality(p_slots);
  running bigint[];      -- per distinct stream, its version as the batch proceeds
  stored_count bigint[];
  matching_count bigint[];
  stored_version bigint[];
  stored_position bigint[];
  outcomes text[] := array_fill(NULL::text, ARRAY[n]);
  versions bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  positions bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  first_event int[] := array_fill(NULL::int, ARRAY[n]);
  offsets bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  next_event int := 1;
  accepted bigint := 0;
  first_position bigint;
  cur bigint;
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    -- A transaction id taken earlier, outside the append lock, would break gap safety.
    RAISE EXCEPTION 'tidings_append must be the first write of its transaction' USING ERRCODE = 'invalid_transaction_state';
  END IF;
  PERFORM pg_advisory_xact_lock(stream_lock_class, q.h)
     FROM (SELECT DISTINCT hashtext(s) AS h FROM unnest(p_stream_ids) AS s ORDER BY 1) q;

  SELECT array_agg(coalesce(
           (SELECT e.stream_version FROM events e WHERE e.stream_id = d.s ORDER BY e.stream_version DESC LIMIT 1), -1)
           ORDER BY d.ord)
    INTO running FROM unnest(p_stream_ids) WITH ORDINALITY AS d(s, ord);

  IF EXISTS (SELECT 1 FROM events WHERE event_id = ANY(p_event_ids)) THEN
    SELECT array_agg(coalesce(c.stored, 0) ORDER BY req), array_agg(coalesce(c.matching, 0) ORDER BY req),
           array_agg(c.max_version ORDER BY req), array_agg(c.max_position ORDER BY req)
      INTO stored_count, matching_count, stored_version, stored_position
      FROM generate_series(1, n) AS req
      LEFT JOIN (
        SELECT z.r, count(*) AS stored,
               count(*) FILTER (WHERE e.stream_id = p_stream_ids[p_slots[z.r]] AND e.type = z.type AND e.data = z.data) AS matching,
               max(e.stream_version) AS max_version, max(e.position) AS max_position
          FROM ROWS FROM (unnest(p_event_requests), unnest(p_event_ids), unnest(p_types), jsonb_array_elements(p_data)) AS z(r, id, type, data)
          JOIN events e ON e.event_id = z.id
         GROUP BY z.r
      ) c ON c.r = req;
  ELSE
    stored_count := array_fill(0::bigint, ARRAY[n]);
  END IF;

  FOR req IN 1..n LOOP
    first_event[req] := next_event;
    next_event := next_event + p_counts[req];
    cur := running[p_slots[req]];
    IF stored_count[req] > 0 THEN
      IF stored_count[req] = p_counts[req] AND matching_count[req] = p_counts[req] THEN
        outcomes[req] := 'duplicate';
        versions[req] := stored_version[req];
        positions[req] := stored_position[req];
      ELSE
        outcomes[req] := 'event_id_conflict';
        versions[req] := cur;
      END IF;
    ELSIF p_expected[req] = -2 OR p_expected[req] = cur OR (p_expected[req] = -3 AND cur >= 0) THEN
      outcomes[req] := 'ok';
      versions[req] := cur + p_counts[req];
      running[p_slots[req]] := versions[req];
      accepted := accepted + p_counts[req];
      offsets[req] := accepted;
    ELSE
      outcomes[req] := 'wrong_expected_version';
      versions[req] := cur;
    END IF;
  END LOOP;

  IF accepted > 0 THEN
    PERFORM pg_advisory_lock(append_lock);
    BEGIN
      -- Transaction id and positions taken together: positions follow transaction ids.
      PERFORM pg_current_xact_id();
      first_position := nextval('events_position_seq');
      PERFORM setval('events_position_seq', first_position + accepted - 1);
      PERFORM pg_advisory_unlock(append_lock);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
      PERFORM pg_advisory_unlock(append_lock);
      RAISE;
    END;
    INSERT INTO events (position, event_id, stream_id, stream_version, type, data, metadata)
    SELECT first_position + row_number() OVER (ORDER BY z.k) - 1, z.id, p_stream_ids[p_slots[z.r]],
           versions[z.r] - p_counts[z.r] + 1 + (z.k - first_event[z.r]), z.type, z.data, z.metadata
      FROM ROWS FROM (unnest(p_event_requests), unnest(p_event_ids), unnest(p_types),
                      jsonb_array_elements(p_data), jsonb_array_elements(p_metadata))
           WITH ORDINALITY AS z(r, id, type, data, metadata, k)
     WHERE outcomes[z.r] = 'ok';
    FOR req IN 1..n LOOP
      IF outcomes[req] = 'ok' THEN
        positions[req] := first_position + offsets[req] - 1;
      END IF;
    END LOOP;
    -- One notification per batch; PostgreSQL folds identical ones within a transaction.
    PERFORM pg_notify('tidings_events', '');
  END IF;

  RETURN QUERY SELECT outcomes[req], versions[req], positions[req] FROM generate_series(1, n) AS req;
END
$fn$;
`;
