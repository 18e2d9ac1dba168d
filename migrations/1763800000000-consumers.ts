import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What consumer groups need besides checkpoints (ARCHITECTURE §5): partition leases and the
 * instances sharing them, a blocked marker per partition, dead letters, and the registry of
 * projection versions that blue/green rebuilds switch between.
 */
export class Consumers1763800000000 implements MigrationInterface {
  name = 'Consumers1763800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE checkpoints
        ADD COLUMN blocked_position bigint,
        ADD COLUMN blocked_error    text,
        ADD COLUMN blocked_at       timestamptz;

      CREATE TABLE consumer_members (
        consumer_group text        NOT NULL,
        member         text        NOT NULL,
        expires_at     timestamptz NOT NULL,
        PRIMARY KEY (consumer_group, member)
      );

      CREATE TABLE consumer_leases (
        consumer_group text        NOT NULL,
        partition      int         NOT NULL,
        member         text        NOT NULL,
        expires_at     timestamptz NOT NULL,
        PRIMARY KEY (consumer_group, partition)
      );

      CREATE TABLE dead_letters (
        id             bigserial   PRIMARY KEY,
        consumer_group text        NOT NULL,
        partition      int         NOT NULL,
        position       bigint      NOT NULL,
        event_id       uuid        NOT NULL,
        stream_id      text        NOT NULL,
        type           text        NOT NULL,
        event          jsonb       NOT NULL,
        error          text        NOT NULL,
        attempts       int         NOT NULL,
        parked_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (consumer_group, event_id)
      );
      CREATE INDEX dead_letters_by_stream ON dead_letters (consumer_group, stream_id, position);

      CREATE TABLE projections (
        name       text        PRIMARY KEY,
        version    int         NOT NULL,
        status     text        NOT NULL DEFAULT 'live',
        rebuilding jsonb,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP TABLE projections, dead_letters, consumer_leases, consumer_members;
      ALTER TABLE checkpoints DROP COLUMN blocked_position, DROP COLUMN blocked_error, DROP COLUMN blocked_at;
    `);
  }
}
