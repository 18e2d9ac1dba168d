import { PublishWindow } from './publish-window';

describe('PublishWindow', () => {
  it('acknowledges up to the oldest publish still in flight', async () => {
    const window = new PublishWindow(10, 0n, () => undefined);
    const [first, second, third] = [window.send(1n), window.send(2n), window.send(3n)];
    window.settle(second);
    expect(window.acknowledged).toBe(0n);
    window.settle(first);
    expect(window.acknowledged).toBe(2n);
    window.settle(third);
    await window.drain();
    expect(window.acknowledged).toBe(3n);
  });

  it('ignores repeated and unknown tickets', () => {
    const window = new PublishWindow(10, 0n, () => undefined);
    const first = window.send(1n);
    const second = window.send(2n);
    window.settle(first);
    window.settle(first);
    window.settle(99);
    expect(window.acknowledged).toBe(1n);
    window.settle(second);
    expect(window.acknowledged).toBe(2n);
  });

  it('reports the first failure once, keeps the position before it, and refuses later sends', async () => {
    const failures: unknown[] = [];
    const window = new PublishWindow(10, 0n, (error) => failures.push(error));
    const first = window.send(1n);
    window.send(2n);
    window.settle(first);
    window.fail(new Error('no stream'));
    window.fail(new Error('closed'));
    await expect(window.room()).rejects.toThrow('no stream');
    await expect(window.drain()).rejects.toThrow('no stream');
    expect(failures).toHaveLength(1);
    expect(window.acknowledged).toBe(1n);
    expect(() => window.send(3n)).toThrow('no stream');
  });

  it('waits for room until half the window is free', async () => {
    const window = new PublishWindow(4, 0n, () => undefined);
    const tickets = [1n, 2n, 3n, 4n].map((position) => window.send(position));
    expect(window.full).toBe(true);
    let roomy = false;
    const room = window.room().then(() => (roomy = true));
    window.settle(tickets[0]);
    await Promise.resolve();
    expect(roomy).toBe(false);
    window.settle(tickets[1]);
    await room;
    expect(roomy).toBe(true);
  });

  it('measures how long the oldest publish has waited', () => {
    const window = new PublishWindow(4, 0n, () => undefined);
    expect(window.oldestWait(5_000)).toBe(0);
    const first = window.send(1n, 1_000);
    window.send(2n, 3_000);
    expect(window.oldestWait(5_000)).toBe(4_000);
    window.settle(first);
    expect(window.oldestWait(5_000)).toBe(2_000);
  });
});
