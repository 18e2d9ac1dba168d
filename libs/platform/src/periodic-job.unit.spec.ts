import { startPeriodicJob } from './periodic-job';

describe('startPeriodicJob', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A job whose runs end when told: `runs` counts those begun, `finish` ends the one under way. */
  const controlledJob = () => {
    const job = { runs: 0, finish: () => undefined as void };
    const run = () => {
      job.runs++;
      return new Promise<void>((resolve) => (job.finish = resolve));
    };
    return { job, run };
  };

  it('runs first after the delay, then at each interval, never two runs at once', async () => {
    const { job, run } = controlledJob();
    const periodic = startPeriodicJob(run, { firstAfterMs: 1_000, everyMs: 5_000 });
    jest.advanceTimersByTime(999);
    expect(job.runs).toBe(0);
    jest.advanceTimersByTime(1);
    expect(job.runs).toBe(1);
    // Still running when the next is due: it is not joined by another.
    jest.advanceTimersByTime(5_000);
    expect(job.runs).toBe(1);
    job.finish();
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(5_000);
    expect(job.runs).toBe(2);
    job.finish();
    await periodic.stop();
  });

  it('stops before its first run, and waits for a run under way, after which none starts', async () => {
    const early = controlledJob();
    await startPeriodicJob(early.run, { firstAfterMs: 1_000, everyMs: 5_000 }).stop();
    jest.advanceTimersByTime(60_000);
    expect(early.job.runs).toBe(0);

    const late = controlledJob();
    const periodic = startPeriodicJob(late.run, { firstAfterMs: 1_000, everyMs: 5_000 });
    jest.advanceTimersByTime(1_000);
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    late.job.finish();
    await stopping;
    jest.advanceTimersByTime(60_000);
    expect(late.job.runs).toBe(1);
  });
});
