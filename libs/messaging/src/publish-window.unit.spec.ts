import { PublishWindow } from './publish-window';

const deferred = () => {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};

describe('PublishWindow', () => {
  it('acknowledges up to the oldest publish still in flight', async () => {
    const window = new PublishWindow(10, 0n, () => undefined);
    const [first, second, third] = [deferred(), deferred(), deferred()];
    window.track(1n, first.promise);
    window.track(2n, second.promise);
    window.track(3n, third.promise);
    second.resolve();
    await second.promise;
    expect(window.acknowledged).toBe(0n);
    first.resolve();
    third.resolve();
    await window.drain();
    expect(window.acknowledged).toBe(3n);
  });

  it('reports the first failure, keeps the position before it, and handles publishes sent after it', async () => {
    const failures: unknown[] = [];
    const window = new PublishWindow(10, 0n, (error) => failures.push(error));
    const [first, second] = [deferred(), deferred()];
    window.track(1n, first.promise);
    window.track(2n, second.promise);
    first.resolve();
    second.reject(new Error('no stream'));
    await Promise.allSettled([first.promise, second.promise]);
    await expect(window.room()).rejects.toThrow('no stream');
    expect(failures).toHaveLength(1);
    expect(window.acknowledged).toBe(1n);
    const late = Promise.reject(new Error('late'));
    // Throws the first failure; the late rejection is handled rather than crashing the process.
    expect(() => window.track(3n, late)).toThrow('no stream');
  });

  it('waits for room until half the window is free', async () => {
    const window = new PublishWindow(4, 0n, () => undefined);
    const publishes = [deferred(), deferred(), deferred(), deferred()];
    publishes.forEach((publish, index) => window.track(BigInt(index + 1), publish.promise));
    expect(window.full).toBe(true);
    let roomy = false;
    const room = window.room().then(() => (roomy = true));
    publishes[0].resolve();
    await publishes[0].promise;
    await Promise.resolve();
    expect(roomy).toBe(false);
    publishes[1].resolve();
    await room;
    expect(roomy).toBe(true);
  });
});
