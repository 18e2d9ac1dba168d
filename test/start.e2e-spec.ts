import { createServer, type AddressInfo, type Server } from 'node:net';
import { eventually, newTestNamespace, testNatsUrl, useTestDatabase } from '@tidings/testing';
import { startTidings, stopGracefully, untilReady, type TidingsProcess } from './tidings-process';

const EVERY_ROLE = 'api,relay,projector,sagas';

/** `tidings start` with several roles, each on a worker thread of its own in one process. */
describe('tidings start', () => {
  let taken: Server;
  const started: TidingsProcess[] = [];
  // Declared before the database's hooks: after-all hooks run in the order they are declared.
  afterAll(async () => {
    await Promise.all(started.map(stopGracefully));
    await new Promise((resolve) => taken.close(resolve));
  });
  const { database } = useTestDatabase();

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });

  const start = (port: number, env: Readonly<Record<string, string>> = {}, roles = EVERY_ROLE) => {
    const process = startTidings({ DATABASE_URL: database.url, NATS_URL: testNatsUrl(), TIDINGS_NAMESPACE: newTestNamespace(), PORT: String(port), TIDINGS_PARTITIONS: '2', ...env }, roles);
    started.push(process);
    return process;
  };

  it('runs every role on a thread of its own, and stops them all gracefully on SIGTERM', async () => {
    const tidings = start(0);
    await untilReady(tidings);
    // The API may answer before the other roles' threads report that they run.
    await eventually(() => expect(tidings.output()).toContain('running api, relay, projector, sagas, each on a thread of its own'));
    expect(await stopGracefully(tidings)).toBe(0);
  });

  it('stops a process of one role as gracefully, saying so when asked and when done, with exit code 0', async () => {
    const projector = start(0, {}, 'projector');
    await eventually(() => expect(projector.output()).toMatch(/running products, orders, views, feed, imports as /));
    expect(await stopGracefully(projector)).toBe(0);
    expect(projector.output()).toMatch(/SIGTERM: stopping every role[\s\S]*every role has stopped/);
  });

  it('listens on the address TIDINGS_HOST gives, and says where', async () => {
    // Another loopback address than the one a wildcard is reached at.
    const tidings = start(0, { TIDINGS_HOST: '127.0.0.2' });
    const baseUrl = await untilReady(tidings);
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    await expect(fetch(`http://127.0.0.1:${new URL(baseUrl).port}/health`)).rejects.toThrow();
    expect(await stopGracefully(tidings)).toBe(0);
  });

  it('ends with exit code 1 and the reason when a role cannot start, after stopping the others', async () => {
    const tidings = start((taken.address() as AddressInfo).port);
    expect(await tidings.exited).toBe(1);
    expect(tidings.output()).toMatch(/the api role stopped: .*EADDRINUSE/);
  });
});
