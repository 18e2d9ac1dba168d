import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import type { Principal } from '@tidings/apps-api';
import { newTestNamespace, testNatsUrl, useTestDatabase, type TestDatabase } from '@tidings/testing';
import { startTidings, stopGracefully, untilReady, type TidingsProcess } from './tidings-process';

export type TokenRequest = Principal & { secret?: string; ttlSeconds?: number };

export type TidingsApi = Readonly<{
  baseUrl: string;
  secret: string;
  database: TestDatabase;
  /** A pool on its database, for the test's own reads; ended by the harness. */
  pool: Pool;
  /** Every event the store holds, visible or not yet to $all readers. */
  eventCount(): Promise<number>;
  /** The types of a stream's events, oldest first. */
  eventTypes(streamId: string): Promise<string[]>;
  /** Tokens signed by the API's own `issueToken`, as built. */
  tokens(requests: readonly TokenRequest[]): Promise<string[]>;
  /** What the deployment's processes have logged so far. */
  output(): string;
  /** Starts another process of the same deployment (its environment, with `overrides`); the harness stops it with the rest. */
  start(roles: string, overrides?: Readonly<Record<string, string>>): TidingsProcess;
}>;

/**
 * For an e2e file: the built `tidings start` with the api, relay, projector and sagas roles on a
 * database and namespace of its own, ready (`/health/ready` answers 200) before the tests;
 * `settings` adds to (or overrides) its environment; `roles` picks the roles it runs.
 */
export function useTidingsApi(settings: Readonly<Record<string, string>> = {}, roles = 'api,relay,projector,sagas'): TidingsApi {
  const secret = `api-e2e-${randomBytes(24).toString('hex')}`;
  let api: TidingsApi | undefined;
  const processes: TidingsProcess[] = [];
  // Declared before the database's hooks: after-all hooks run in the order they are declared.
  afterAll(() => Promise.all(processes.map(stopGracefully)));
  const { database, pool } = useTestDatabase();

  beforeAll(async () => {
    // PORT=0: the system picks a port for each API process, so no other test's process can take it first.
    const env = { DATABASE_URL: database.url, NATS_URL: testNatsUrl(), TIDINGS_NAMESPACE: newTestNamespace(), PORT: '0', JWT_SECRET: secret, TIDINGS_PARTITIONS: '4', CHECKOUT_PAYMENT_TIMEOUT_MS: '4000', ...settings };
    const start = (moreRoles: string, overrides: Readonly<Record<string, string>> = {}) => {
      const started = startTidings({ ...env, ...overrides }, moreRoles);
      processes.push(started);
      return started;
    };
    const baseUrl = await untilReady(start(roles));
    api = {
      baseUrl,
      secret,
      database,
      pool,
      start,
      output: () => processes.map((process) => process.output()).join(''),
      tokens: (requests) => issueTokens(secret, requests),
      eventCount: async () => Number((await pool.query<{ count: string }>('SELECT count(*) FROM events')).rows[0].count),
      eventTypes: async (streamId) => (await pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [streamId])).rows.map((row) => row.type),
    };
  });

  return new Proxy({} as TidingsApi, {
    get(_target, property: keyof TidingsApi) {
      if (!api) throw new Error('the API is started in beforeAll');
      return api[property];
    },
  });
}

/** Jest cannot load the ESM-only jose the API signs with; Node itself can (require of ES modules). */
async function issueTokens(secret: string, requests: readonly TokenRequest[]): Promise<string[]> {
  const script = `const { issueToken } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'apps', 'api', 'src', 'auth', 'tokens.js'))});
    Promise.all(JSON.parse(process.argv[1]).map((r) => issueToken(r.secret, { userId: r.userId, roles: r.roles }, r.ttlSeconds)))
      .then((tokens) => process.stdout.write(JSON.stringify(tokens)));`;
  const filled = requests.map((request) => ({ secret, ttlSeconds: 3_600, ...request }));
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, JSON.stringify(filled)]);
  return JSON.parse(stdout) as string[];
}
