import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The consumer groups that read several categories, with their categories in order, as of this
 * migration: until it, each read a partition through one consumer of every category
 * (`tidings.events.*.<partition>`); since, a group has a partition per partition and category
 * (libs/messaging groupPartitions: `partition × categories + the category's index`).
 */
const MULTI_CATEGORY_GROUPS = `(VALUES ('projection.orders', 'order', 0, 2), ('projection.orders', 'payment', 1, 2),
                                      ('projection.feed', 'user', 0, 2), ('projection.feed', 'post', 1, 2))
                               AS g (consumer_group, category, index, categories)`;

/**
 * Splits the checkpoints of multi-category groups per category. A partition's checkpoint
 * covered all its categories, so each category's new partition starts from it. A blocked
 * partition stays blocked only in the category of the event it is blocked on; dead letters move
 * to their stream's category. Leases are dropped: the members take the new partitions at their
 * next renewal. Stop the projectors before migrating, as for any release that changes consumers.
 */
export class GroupPartitions1764300000000 implements MigrationInterface {
  name = 'GroupPartitions1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      -- Out of the way first (negative), so that no new partition number collides with an old one.
      UPDATE checkpoints SET partition = -1 - partition
       WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS}) AND partition >= 0;

      INSERT INTO checkpoints (consumer_group, partition, position, updated_at, read_model_version, blocked_position, blocked_error, blocked_at)
      SELECT c.consumer_group, (-1 - c.partition) * g.categories + g.index, c.position, c.updated_at, c.read_model_version,
             CASE WHEN blocked.category = g.category THEN c.blocked_position END,
             CASE WHEN blocked.category = g.category THEN c.blocked_error END,
             CASE WHEN blocked.category = g.category THEN c.blocked_at END
        FROM checkpoints c
        JOIN ${MULTI_CATEGORY_GROUPS} USING (consumer_group)
        LEFT JOIN LATERAL (SELECT split_part(e.stream_id, '-', 1) AS category FROM events e WHERE e.position = c.blocked_position) blocked ON true
       WHERE c.partition < 0;

      DELETE FROM checkpoints WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS}) AND partition < 0;

      UPDATE dead_letters d SET partition = d.partition * g.categories + g.index
        FROM ${MULTI_CATEGORY_GROUPS}
       WHERE d.consumer_group = g.consumer_group AND split_part(d.stream_id, '-', 1) = g.category;

      DELETE FROM consumer_leases WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS});
    `);
  }

  /** Back to one partition for all categories, from the category furthest behind: the others apply some events again, so rebuild these projections after. */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      UPDATE checkpoints SET partition = -1 - partition
       WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS}) AND partition >= 0;

      INSERT INTO checkpoints (consumer_group, partition, position, updated_at, read_model_version)
      SELECT c.consumer_group, (-1 - c.partition) / g.categories, min(c.position), max(c.updated_at), max(c.read_model_version)
        FROM checkpoints c
        JOIN (SELECT DISTINCT consumer_group, categories FROM ${MULTI_CATEGORY_GROUPS}) g USING (consumer_group)
       WHERE c.partition < 0
       GROUP BY c.consumer_group, (-1 - c.partition) / g.categories;

      DELETE FROM checkpoints WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS}) AND partition < 0;

      UPDATE dead_letters d SET partition = d.partition / g.categories
        FROM (SELECT DISTINCT consumer_group, categories FROM ${MULTI_CATEGORY_GROUPS}) g
       WHERE d.consumer_group = g.consumer_group;

      DELETE FROM consumer_leases WHERE consumer_group IN (SELECT consumer_group FROM ${MULTI_CATEGORY_GROUPS});
    `);
  }
}
