import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LoggerService } from '@nestjs/common';
import type { Role, Settings } from '@tidings/settings';
import { stopOnSignals, stopWithin } from './graceful-stop';
import type { MainThreadMessage } from './role-thread';

/**
 * Each role thread's young generation, where V8 puts new objects: 192 MB, that is 64 MB
 * semi-spaces, four times Node's default. A role allocates for every event it handles (an
 * envelope, a decoded event, a query's rows) and most of it dies young; with more room, fewer
 * of those die in a collection. In CPU profiles of `tidings bench views` the relay's share of
 * time in the garbage collector went from 10.5–11.5% to 5.7–6.9%, the api's from 7.2–8.1% to
 * 4.8–6.3% (each thread's young generation fills only as far as it needs).
 */
const YOUNG_GENERATION_MB = 192;

/** A role's worker thread, and why it ended once it has. */
type RoleThread = Readonly<{ worker: Worker; ended: Promise<string> }>;

/**
 * Every role on a worker thread of its own, in this one process: each thread has its own event
 * loop, so the roles use every core instead of taking turns on one (as the processes of a
 * scaled-out deployment do, each with its own platform). Resolves once every role runs; a role
 * that cannot start stops the others and rejects. SIGTERM / SIGINT stop every role gracefully;
 * a role's thread that ends by itself ends the process with exit code 1, for its supervisor to
 * restart — a process that runs some of its roles is worse than one that runs none.
 */
export async function runRoleThreads(settings: Settings, logger: LoggerService): Promise<void> {
  const threads = settings.roles.map(startThread);
  let stopping: Promise<void> | undefined;
  const stopAll = () => (stopping ??= stopThreads());
  const stopThreads = () =>
    stopWithin(
      settings,
      logger,
      async () => {
        for (const { worker } of threads) worker.postMessage('stop' satisfies MainThreadMessage);
        await Promise.all(threads.map(({ ended }) => ended));
      },
      () => threads.forEach(({ worker }) => void worker.terminate()),
    );
  const runs = ({ worker, ended }: RoleThread) =>
    Promise.race([new Promise((resolve) => worker.once('message', resolve)), ended.then((reason) => Promise.reject(new Error(reason)))]);
  // Heard from the start: a signal while the roles start stops them as it would once they run.
  let signalled = false;
  stopOnSignals(logger, () => {
    signalled = true;
    return stopAll();
  });
  try {
    await Promise.all(threads.map(runs));
  } catch (error) {
    await stopAll();
    // A role that ended because it was asked to is no failure.
    if (signalled) return;
    throw error;
  }
  if (signalled) return;
  for (const { ended } of threads) {
    void ended.then((reason) => {
      if (stopping) return;
      logger.error(`${reason}; stopping every role`, undefined, 'tidings');
      process.exitCode = 1;
      void stopAll();
    });
  }
  logger.log(`running ${settings.roles.join(', ')}, each on a thread of its own`, 'tidings');
}

function startThread(role: Role): RoleThread {
  const worker = new Worker(join(__dirname, 'role-thread.js'), { workerData: { role }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
  const ended = new Promise<string>((resolve) => {
    let error: unknown;
    worker.once('error', (thrown) => (error = thrown));
    worker.once('exit', (code) => resolve(`the ${role} role stopped${error ? `: ${error instanceof Error ? error.message : String(error)}` : ` with exit code ${code}`}`));
  });
  return { worker, ended };
}
