import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `tidings_expect_batches`: opens batches whose checkpoints the projector already knows (it
 * committed them itself), so that a batch's whole transaction can go in one round trip (see
 * expectBatches in libs/read-models). It locks as openBatches does (each lease FOR KEY SHARE,
 * the checkpoints FOR UPDATE in partition order) and raises SQLSTATE TDX01 — failing every
 * statement sent after it in the transaction — unless every lease is the member's, every
 * checkpoint is where it is expected against the expected tables and not blocked, and no stream
 * of the batches has a dead letter.
 */
export class ExpectedBatches1765000000000 implements MigrationInterface {
  name = 'ExpectedBatches1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION tidings_expect_batches(p_group text, p_partitions int[], p_members text[], p_positions bigint[], p_versions int[], p_stream_ids text[])
      RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT count(*) FROM (
              SELECT FROM consumer_leases l JOIN unnest(p_partitions, p_members) AS w (partition, member) USING (partition, member)
              WHERE l.consumer_group = p_group FOR KEY SHARE OF l) AS held) <> cardinality(p_partitions) THEN
          RAISE EXCEPTION 'a lease of % is no longer this member''s', p_group USING ERRCODE = 'TDX01';
        END IF;
        IF (SELECT count(*) FROM (
              SELECT FROM checkpoints c JOIN unnest(p_partitions, p_positions, p_versions) AS e (partition, position, version) USING (partition)
              WHERE c.consumer_group = p_group AND c.position = e.position AND c.read_model_version IS NOT DISTINCT FROM e.version
                AND c.blocked_position IS NULL
              ORDER BY c.partition FOR UPDATE OF c) AS expected) <> cardinality(p_partitions) THEN
          RAISE EXCEPTION 'a checkpoint of % is not where this member left it', p_group USING ERRCODE = 'TDX01';
        END IF;
        IF EXISTS (SELECT FROM dead_letters WHERE consumer_group = p_group AND stream_id = ANY(p_stream_ids)) THEN
          RAISE EXCEPTION 'a stream of the batches of % has dead letters', p_group USING ERRCODE = 'TDX01';
        END IF;
      END
      $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP FUNCTION tidings_expect_batches(text, int[], text[], bigint[], int[], text[])');
  }
}
