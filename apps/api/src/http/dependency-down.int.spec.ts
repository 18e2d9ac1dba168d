import { AccessDeniedError, DeadlineExceededError, TimeoutError, UnavailableError } from '@eventstore/db-client';
import { createServer, type Server } from 'node:net';
import { connect } from 'nats';
import { Pool } from 'pg';
import { isDependencyDown } from './dependency-down';

/** A loopback port nothing listens on: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('isDependencyDown', () => {
  it('knows PostgreSQL and NATS refusing connections (answered 503 dependency-unavailable, not 500)', async () => {
    const port = await refusingPort();
    const pool = new Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/tidings`, connectionTimeoutMillis: 2_000 });
    const fromPostgres = await pool.query('SELECT 1').catch((error: unknown) => error);
    await pool.end();
    const fromNats = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 2_000 }).catch((error: unknown) => error);

    for (const error of [fromPostgres, fromNats]) {
      expect(error).toMatchObject({ message: expect.any(String) });
      expect(isDependencyDown(error)).toBe(true);
    }
  });

  it("knows EventStoreDB's client giving up on a server that did not answer: its deadline, its connection, the server's timeout", () => {
    for (const error of [new DeadlineExceededError(), new UnavailableError(), new TimeoutError()]) expect(isDependencyDown(error)).toBe(true);
    expect(isDependencyDown(new AccessDeniedError())).toBe(false);
  });

  it('leaves other failures to be answered as internal errors', () => {
    expect(isDependencyDown(new Error('a bug'))).toBe(false);
  });
});
