import type { QueryRunner } from 'typeorm';
import { uuidV7Ids, type EventToAppend } from '@tidings/core';
import { migrations } from '@tidings/migrations';
import { useTestEventStore } from '@tidings/testing';

const event = (type: string): EventToAppend => ({
  eventId: uuidV7Ids.next(),
  type,
  data: {},
  metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 },
});

/** The posts table as the feed projection made it before posts kept their version. */
const postsBeforeVersions = (table: string) => `
  CREATE TABLE ${table} (
    post_id text COLLATE "C" PRIMARY KEY, author_id text COLLATE "C" NOT NULL, text text NOT NULL, created_at timestamptz NOT NULL,
    likes int NOT NULL DEFAULT 0, comments int NOT NULL DEFAULT 0, shares int NOT NULL DEFAULT 0, fanned_out boolean NOT NULL, position bigint NOT NULL)`;

/** The migration that gave the feed's posts their stream version (the ETag), run on a feed read model built before it. */
describe('migration PostVersions1764800000000', () => {
  const testStore = useTestEventStore();
  const { pool } = testStore;
  const run = async (direction: 'up' | 'down') => {
    const migration = migrations.find((candidate) => candidate.name === 'PostVersions1764800000000');
    if (!migration) throw new Error('no migration PostVersions1764800000000');
    await new migration()[direction]({ query: async (sql: string) => (await pool.query(sql)).rows } as unknown as QueryRunner);
  };

  it('changes nothing where no feed read model has been made yet', async () => {
    await run('up');
    expect((await pool.query("SELECT to_regclass('posts') AS posts")).rows).toEqual([{ posts: null }]);
  });

  it('sets each post of every posts table at its stream version, shows the column in the posts view, and takes it back down', async () => {
    // Version 2 is live; version 3 is a rebuild under way.
    await pool.query(postsBeforeVersions('posts_v2'));
    await pool.query(postsBeforeVersions('posts_v3'));
    await pool.query('CREATE VIEW posts AS SELECT * FROM posts_v2');
    await pool.query("INSERT INTO projections (name, version) VALUES ('feed', 2)");
    await testStore.store.append('post-a', [event('PostPublished'), event('PostLiked'), event('PostCommented')], { expectedVersion: 'no_stream' });
    await testStore.store.append('post-b', [event('PostPublished')], { expectedVersion: 'no_stream' });
    const insertPost = (table: string, postId: string) =>
      pool.query(`INSERT INTO ${table} (post_id, author_id, text, created_at, fanned_out, position) VALUES ($1, 'ann', 'hi', now(), true, 1)`, [postId]);
    for (const postId of ['a', 'b', 'unrecorded']) await insertPost('posts_v2', postId);
    await insertPost('posts_v3', 'a');

    await run('up');

    const versions = async (from: string) => (await pool.query<{ post_id: string; version: number }>(`SELECT post_id, version FROM ${from} ORDER BY post_id`)).rows;
    expect(await versions('posts')).toEqual([
      { post_id: 'a', version: 2 },
      { post_id: 'b', version: 0 },
      { post_id: 'unrecorded', version: 0 },
    ]);
    expect(await versions('posts_v3')).toEqual([{ post_id: 'a', version: 2 }]);
    // A projector of the previous release, still running, adds posts without a version: at publishing's.
    await insertPost('posts_v2', 'c');
    expect((await versions('posts')).find((post) => post.post_id === 'c')).toEqual({ post_id: 'c', version: 0 });

    await run('down');
    const columns = await pool.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name IN ('posts', 'posts_v2', 'posts_v3') AND column_name = 'version'");
    expect(columns.rows).toEqual([]);
    expect((await pool.query('SELECT post_id FROM posts ORDER BY post_id')).rows.map((row) => row.post_id)).toEqual(['a', 'b', 'c', 'unrecorded']);
  });

});
