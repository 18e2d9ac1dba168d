import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'nats';
import { connectNats } from './jetstream';

/** A nats-server of this test's own that asks for a user and password (the shared one asks for nothing). */
describe('connectNats to a server that asks for credentials', () => {
  let server: ChildProcess;
  let port: number;
  let startError: Error | undefined;

  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const binary = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((path) => existsSync(path)) ?? 'nats-server';
    server = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '--user', 'tidings', '--pass', 's@cret'], { stdio: 'ignore' });
    // A missing binary fails this test (below), not the test worker.
    server.once('error', (error) => (startError = error));
    for (let attempt = 0; attempt < 50; attempt++) {
      const up = await connect({ servers: `127.0.0.1:${port}`, user: 'tidings', pass: 's@cret', reconnect: false }).then(
        (nats) => nats.close().then(() => true),
        () => false,
      );
      if (up) return;
      if (startError) throw startError;
      await delay(100);
    }
    throw new Error(`the test's nats-server did not come up on port ${port}`);
  });

  afterAll(() => {
    server?.kill();
  });

  it('authenticates with the user and password of NATS_URL, and is refused without them', async () => {
    const nats = await connectNats({ natsUrl: `nats://tidings:s%40cret@127.0.0.1:${port}` }, 'tidings-test-credentials');
    try {
      expect(nats.info?.port).toBe(port);
      await nats.flush();
    } finally {
      await nats.close();
    }
    await expect(connect({ servers: `127.0.0.1:${port}`, reconnect: false })).rejects.toThrow(/Authorization/i);
  });
});
