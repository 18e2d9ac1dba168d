import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store: one append-only `events` table, a `streams` table whose rows are the
 * per-stream locks and versions, and `tidings_append`, the only write path (one call appends
 * a whole group-commit batch).
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

      -- version -1: the row exists only as a lock; the stream has no events.
      CREATE TABLE streams (
        stream_id text   PRIMARY KEY,
        version   bigint NOT NULL
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
      DROP FUNCTION tidings_append(text[], bigint[], int[], uuid[], text[], jsonb[], jsonb[]);
      DROP TABLE streams;
      DROP TABLE events;
      DROP FUNCTION tidings_refuse_event_change();
      DROP SEQUENCE events_position_seq;
    `);
  }
}

/**
 * Appends a batch of requests in one transaction. Each request is one caller's
 * append(stream, events, expectedVersion); its events are concatenated, in order, in the
 * event arrays. Expected version: >= 0 exact, -1 no stream, -2 any, -3 stream exists.
 * Returns one row per request: 'ok' | 'duplicate' (every event id already stored with the
 * same stream, type and data: an idempotent retry) | 'event_id_conflict' |
 * 'wrong_expected_version', with the stream's version and the last event's position.
 */
const APPEND_FUNCTION = `
CREATE FUNCTION tidings_append(
  p_streams text[], p_expected bigint[], p_counts int[],
  p_event_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[]
) RETURNS TABLE (outcome text, version bigint, last_position bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  append_lock constant bigint := 7305014520460374433;
  n int := cardinality(p_streams);
  event_request int[];   -- the request of each event
  first_event int[];     -- each request's first event
  slot int[];            -- the first request on the same stream: where the running version lives
  running bigint[];      -- per slot, the stream's version as the batch proceeds
  touched bool[] := array_fill(false, ARRAY[n]);
  stored_count bigint[];
  matching_count bigint[];
  stored_version bigint[];
  stored_position bigint[];
  outcomes text[] := array_fill(NULL::text, ARRAY[n]);
  versions bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  positions bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  offsets bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  accepted bigint := 0;
  first_position bigint;
  cur bigint;
BEGIN
  SELECT array_agg(req ORDER BY req, i) INTO event_request
    FROM generate_subscripts(p_counts, 1) AS req, generate_series(1, p_counts[req]) AS i;
  SELECT array_agg(f.first ORDER BY f.req) INTO first_event
    FROM (SELECT req, 1 + coalesce(sum(p_counts[req]) OVER (ORDER BY req ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS first
            FROM generate_subscripts(p_counts, 1) AS req) f;

  PERFORM pg_advisory_lock(append_lock);
  BEGIN
    -- The transaction id is taken under the lock, so positions follow transaction ids.
    PERFORM pg_current_xact_id();

    -- Lock every stream of the batch in one sorted pass (no deadlock between batches).
    WITH locked AS (
      INSERT INTO streams AS s (stream_id, version)
      SELECT DISTINCT stream_id, -1 FROM unnest(p_streams) AS u(stream_id) ORDER BY stream_id
      ON CONFLICT (stream_id) DO UPDATE SET version = s.version
      RETURNING s.stream_id, s.version
    )
    SELECT array_agg(q.first_req ORDER BY q.req), array_agg(l.version ORDER BY q.req)
      INTO slot, running
      FROM (SELECT req, p_streams[req] AS stream_id, min(req) OVER (PARTITION BY p_streams[req]) AS first_req
              FROM generate_subscripts(p_streams, 1) AS req) q
      JOIN locked l ON l.stream_id = q.stream_id;

    -- Event ids that are already stored: idempotent retries or conflicts.
    SELECT array_agg(coalesce(c.stored, 0) ORDER BY req), array_agg(coalesce(c.matching, 0) ORDER BY req),
           array_agg(c.max_version ORDER BY req), array_agg(c.max_position ORDER BY req)
      INTO stored_count, matching_count, stored_version, stored_position
      FROM generate_subscripts(p_streams, 1) AS req
      LEFT JOIN (
        SELECT x.r, count(*) AS stored,
               count(*) FILTER (WHERE e.stream_id = p_streams[x.r] AND e.type = p_types[x.k] AND e.data = p_data[x.k]) AS matching,
               max(e.stream_version) AS max_version, max(e.position) AS max_position
          FROM unnest(event_request) WITH ORDINALITY AS x(r, k)
          JOIN events e ON e.event_id = p_event_ids[x.k]
         GROUP BY x.r
      ) c ON c.r = req;

    FOR req IN 1..n LOOP
      cur := running[slot[req]];
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
        running[slot[req]] := versions[req];
        touched[slot[req]] := true;
        accepted := accepted + p_counts[req];
        offsets[req] := accepted;
      ELSE
        outcomes[req] := 'wrong_expected_version';
        versions[req] := cur;
      END IF;
    END LOOP;

    IF accepted > 0 THEN
      -- A block of positions, in request order; only this function writes events.
      first_position := nextval('events_position_seq');
      PERFORM setval('events_position_seq', first_position + accepted - 1);
      INSERT INTO events (position, event_id, stream_id, stream_version, type, data, metadata)
      SELECT first_position + a.ordinal - 1, p_event_ids[a.k], p_streams[a.r],
             versions[a.r] - p_counts[a.r] + 1 + (a.k - first_event[a.r]),
             p_types[a.k], p_data[a.k], p_metadata[a.k]
        FROM (SELECT x.r, x.k, row_number() OVER (ORDER BY x.k) AS ordinal
                FROM unnest(event_request) WITH ORDINALITY AS x(r, k)
               WHERE outcomes[x.r] = 'ok') a;
    END IF;
    PERFORM pg_advisory_unlock(append_lock);
  EXCEPTION WHEN OTHERS OR query_canceled THEN
    PERFORM pg_advisory_unlock(append_lock);
    RAISE;
  END;

  IF accepted > 0 THEN
    UPDATE streams AS s SET version = running[q.req]
      FROM (SELECT req FROM generate_subscripts(p_streams, 1) AS req WHERE touched[req]) q
     WHERE s.stream_id = p_streams[q.req];
    FOR req IN 1..n LOOP
      IF outcomes[req] = 'ok' THEN
        positions[req] := first_position + offsets[req] - 1;
      END IF;
    END LOOP;
    -- One notification per batch; PostgreSQL folds identical ones within a transaction.
    PERFORM pg_notify('tidings_events', '');
  END IF;

  RETURN QUERY SELECT outcomes[req], versions[req], positions[req] FROM generate_subscripts(p_streams, 1) AS req ORDER BY req;
END
$fn$;
`;
