import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from '@tidings/testing';

const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');

export type TidingsProcess = Readonly<{
  child: ChildProcess;
  /** Everything it wrote, for the failure message. */
  output: () => string;
  exited: Promise<number | null>;
}>;

/** Runs the built `tidings start` with the given roles, as an operator would. */
export function startTidings(env: Readonly<Record<string, string>>, roles: string): TidingsProcess {
  const child = spawn(process.execPath, [CLI, 'start'], {
    // Two e2e files run at once, each with processes of up to four role threads, two pools a thread:
    // small pools keep them within the server's 100 connections.
    env: { ...process.env, TIDINGS_DATABASE_POOL_SIZE: '4', ...env, TIDINGS_ROLES: roles, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * How long a process may take to answer /health/ready. Starting is CPU-bound (each role thread
 * loads its code) and two e2e files run at once on two cores, one of them perhaps under load.
 */
const STARTUP_TIMEOUT_MS = 45_000;

/**
 * The base URL of the API of `process` once it is ready: where it says it listens (start it with
 * PORT=0, and the system picks a port nobody else holds), answering /health/ready. Fails with its
 * output if it exits or takes too long.
 */
export async function untilReady(process: TidingsProcess): Promise<string> {
  return eventually(
    async () => {
      if (process.child.exitCode !== null) throw new Error(`tidings exited with ${process.child.exitCode}`);
      const baseUrl = /api listening on (http:\/\/\S+:\d+)/.exec(process.output())?.[1];
      expect(baseUrl).toBeDefined();
      expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
      return baseUrl as string;
    },
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 100 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${process.output().slice(-3_000)}`);
  });
}

/** kill -9: no shutdown hooks, no goodbyes. */
export async function killHard(process: TidingsProcess): Promise<void> {
  process.child.kill('SIGKILL');
  await process.exited;
}

export async function stopGracefully(process: TidingsProcess): Promise<number | null> {
  if (process.child.exitCode !== null) return process.child.exitCode;
  process.child.kill('SIGTERM');
  return process.exited;
}
