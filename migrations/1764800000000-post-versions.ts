import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The feed read model's posts tables: the live version's, and any a rebuild was building. */
const POSTS_TABLES = `SELECT relname AS "table" FROM pg_class
                       WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace AND relname ~ '^posts_v[0-9]+$'`;

/** The table the `posts` view shows: the feed projection's live version. */
const LIVE_POSTS_TABLE = "SELECT 'posts_v' || version AS \"table\" FROM projections WHERE name = 'feed'";

/**
 * Each post of the feed read model keeps `version`, the version of the last event of
 * `post-<id>` applied: a post's ETag. Feed read models built before it get the column, each post
 * at its stream's version in the store (its events not yet applied then leave it as it is:
 * applying one never moves a version back; one index lookup per post, the stream id compared
 * in the events table's collation, not the posts table's "C"), and the `posts` view is made
 * again to show it (a view keeps the columns its table had when it was made). Stop the previous
 * release's projectors (and a feed rebuild it runs) before migrating: their code adds posts at
 * 0, the version of their publishing, and moves no version after.
 * With EVENT_STORE=eventstoredb the `events` table holds nothing, so every post starts at 0
 * and its next event applied sets it; rebuild the feed for exact ETags at once.
 */
export class PostVersions1764800000000 implements MigrationInterface {
  name = 'PostVersions1764800000000';

  async up(db: QueryRunner): Promise<void> {
    for (const { table } of (await db.query(POSTS_TABLES)) as { table: string }[]) {
      await db.query(`ALTER TABLE "${table}" ADD COLUMN IF NOT EXISTS version int NOT NULL DEFAULT 0`);
      await db.query(`UPDATE "${table}" p
                         SET version = coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = 'post-' || p.post_id COLLATE "default"), p.version)`);
    }
    await this.showLiveTable(db);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP VIEW IF EXISTS posts');
    for (const { table } of (await db.query(POSTS_TABLES)) as { table: string }[]) await db.query(`ALTER TABLE "${table}" DROP COLUMN IF EXISTS version`);
    await this.showLiveTable(db);
  }

  private async showLiveTable(db: QueryRunner): Promise<void> {
    const [live] = (await db.query(`${LIVE_POSTS_TABLE} AND to_regclass('posts_v' || version) IS NOT NULL`)) as { table: string }[];
    if (!live) return;
    await db.query('DROP VIEW IF EXISTS posts');
    await db.query(`CREATE VIEW posts AS SELECT * FROM "${live.table}"`);
  }
}
