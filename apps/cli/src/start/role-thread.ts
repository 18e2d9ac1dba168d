import 'reflect-metadata';
import { parentPort, workerData } from 'node:worker_threads';
import { loadSettings } from '@tidings/settings';
import { runRoles } from './run-roles';

/** What the main thread tells a role's thread; the thread answers 'running' once its role runs. */
export type MainThreadMessage = 'stop';

/** A worker thread of `tidings start`: runs one role, with a platform of its own, until the main thread says stop. */
async function main(): Promise<void> {
  const { role } = workerData as { role: string };
  const app = await runRoles(loadSettings({ ...process.env, TIDINGS_ROLES: role }));
  const port = parentPort as NonNullable<typeof parentPort>;
  port.on('message', (message: MainThreadMessage) => {
    if (message !== 'stop') return;
    void app.close().then(() => process.exit(0));
  });
  port.postMessage('running');
}

// A failure to start is left unhandled: it ends this thread, and reaches the main thread as the thread's error.
void main();
