import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { issueToken, type UserRole } from '@tidings/apps-api';
import type { Settings } from '@tidings/settings';

export type BenchApi = Readonly<{
  baseUrl: string;
  /** A token the API accepts, for a user with these roles. */
  token(userId: string, roles: readonly UserRole[]): Promise<string>;
  stop(): Promise<void>;
}>;

/** Rate limits far above any bench's load: a bench measures the API, not its limiter. */
const UNLIMITED = String(10_000_000);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Ports tried: another process may bind the free port found before the API does. */
const PORT_ATTEMPTS = 3;

/**
 * `tidings start` in processes of their own, one per entry of `processes` (the first with the
 * api role), on the bench's database and namespace and a free port, ready (`/health/ready`
 * answers 200) when this resolves. Load generated in the bench's process then competes with
 * the servers only for the machine's cores.
 */
export async function startBenchApi(settings: Settings, processes: readonly string[]): Promise<BenchApi> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnPort(settings, processes, await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

class PortTaken extends Error {}

async function startOnPort(settings: Settings, processes: readonly string[], port: number): Promise<BenchApi> {
  const jwtSecret = settings.jwtSecret;
  const env = {
    ...process.env,
    DATABASE_URL: settings.databaseUrl,
    NATS_URL: settings.natsUrl,
    TIDINGS_NAMESPACE: settings.namespace,
    PORT: String(port),
    JWT_SECRET: jwtSecret,
    TIDINGS_RATE_LIMIT_USER: UNLIMITED,
    TIDINGS_RATE_LIMIT_IP: UNLIMITED,
    LOG_LEVEL: 'warn',
  };
  const children = processes.map((roles) => startRoles(env, roles));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await Promise.all(children.map((child) => child.stop()));
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const exited = children.find((child) => child.exitCode() !== null);
    if (exited) {
      await stop();
      const message = `tidings (${exited.roles}) exited with ${exited.exitCode()} before the API was ready: ${exited.errors()}`;
      throw exited.errors().includes('EADDRINUSE') ? new PortTaken(message) : new Error(message);
    }
    // Bounded: whatever else holds the port may never answer.
    const ready = await fetch(`${baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the API was not ready within 30 s: ${children[0].errors()}`);
    }
    await delay(100);
  }
  return { baseUrl, stop, token: (userId, roles) => issueToken(jwtSecret, { userId, roles: [...roles] }, 3_600) };
}

function startRoles(env: NodeJS.ProcessEnv, roles: string) {
  const child = spawn(process.execPath, [join(__dirname, '..', 'main.js'), 'start'], { env: { ...env, TIDINGS_ROLES: roles }, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors = (errors + String(chunk)).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    roles,
    errors: () => errors,
    exitCode: () => child.exitCode,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, delay(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}
