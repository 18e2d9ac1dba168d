import { connect } from 'nats';
import { Client } from 'pg';
import { databaseName, withDatabase } from '@tidings/read-models';
import { loadSettings } from '@tidings/settings';
import { newTestNamespace, testNatsUrl, useTestDatabase } from '@tidings/testing';
import { benchSettings, resetBenchDeployment } from './bench-deployment';

describe('the bench’s deployment', () => {
  const { database } = useTestDatabase();

  it('refuses a database name PostgreSQL would cut back to the deployment’s own (or another) once _bench is added', () => {
    const named = (name: string) => loadSettings({ DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${name}` });
    expect(databaseName(benchSettings(named('d'.repeat(57))).databaseUrl)).toBe(`${'d'.repeat(57)}_bench`);
    expect(() => benchSettings(named('d'.repeat(58)))).toThrow(`the bench's database would be ${'d'.repeat(58)}_bench, longer than PostgreSQL's 63 bytes: point DATABASE_URL at a database with a shorter name`);
    expect(() => benchSettings(named('d'.repeat(63)))).toThrow(/longer than PostgreSQL's 63 bytes/);
  });

  it('is a database and namespace beside the configured ones, emptied and migrated before a run without touching anyone else’s', async () => {
    const namespace = newTestNamespace();
    const settings = loadSettings({ DATABASE_URL: database.url, NATS_URL: testNatsUrl(), TIDINGS_NAMESPACE: namespace });
    const bench = benchSettings(settings);
    expect(databaseName(bench.databaseUrl)).toBe(`${database.name}_bench`);
    expect(bench.namespace).toBe(`${namespace.slice(0, 26)}_bench`);

    // What an earlier run left, and what is not the bench's: the deployment's own stream, and a namespace whose name begins as the bench's.
    const admin = new Client({ connectionString: withDatabase(database.url, 'postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database.name}_bench"`);
    const earlierRun = new Client({ connectionString: bench.databaseUrl });
    await earlierRun.connect();
    await earlierRun.query('CREATE TABLE left_by_an_earlier_run (n int)');
    await earlierRun.end();
    const nats = await connect({ servers: testNatsUrl() });
    const jsm = await nats.jetstreamManager();
    const streamOf = (ns: string) => `${ns.toUpperCase().replaceAll('-', '_')}_EVENTS`;
    const kept = [streamOf(namespace), streamOf(`${bench.namespace}_x`)];
    for (const name of [...kept, streamOf(bench.namespace), `${bench.namespace.toUpperCase()}_WORK_IMPORTS`]) await jsm.streams.add({ name, subjects: [`${name}.>`] });
    await (await nats.jetstream().views.kv(`${bench.namespace}_config`)).put('NL', '0.21');
    try {
      await resetBenchDeployment(bench);

      const fresh = new Client({ connectionString: bench.databaseUrl });
      await fresh.connect();
      const tables = (await fresh.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows.map((row) => row.name);
      await fresh.end();
      expect(tables).toContain('events');
      expect(tables).not.toContain('left_by_an_earlier_run');
      const left: string[] = [];
      for await (const { config } of jsm.streams.list()) left.push(config.name);
      expect(left).toEqual(expect.arrayContaining(kept));
      expect(left.filter((name) => name.toLowerCase().includes(bench.namespace.toLowerCase()) && !kept.includes(name))).toEqual([]);
    } finally {
      for (const name of kept) await jsm.streams.delete(name).catch(() => undefined);
      await nats.close();
      await admin.query(`DROP DATABASE IF EXISTS "${database.name}_bench" WITH (FORCE)`);
      await admin.end();
    }
  });
});
