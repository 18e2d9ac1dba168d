/** A job run on a schedule by a role: `stop` ends the schedule and waits for a run under way. */
export type PeriodicJob = Readonly<{ stop: () => Promise<void> }>;

/**
 * Runs `job` first after `firstAfterMs`, then every `everyMs`, one run at a time: a run still
 * going when the next is due is not joined by another. The job handles its own failures.
 */
export function startPeriodicJob(job: () => Promise<void>, { firstAfterMs, everyMs }: Readonly<{ firstAfterMs: number; everyMs: number }>): PeriodicJob {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= job().finally(() => (running = undefined));
  };
  let timer: NodeJS.Timeout = setTimeout(() => {
    run();
    timer = setInterval(run, everyMs);
  }, firstAfterMs);
  return {
    async stop() {
      // Node's clearInterval ends the first run's timeout as well as the interval.
      clearInterval(timer);
      await running;
    },
  };
}
