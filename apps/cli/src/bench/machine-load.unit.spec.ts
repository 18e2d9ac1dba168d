import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { watchMachineLoad } from './machine-load';

const SPIN_MS = 400;
const spin = `const until = performance.now() + ${SPIN_MS}; while (performance.now() < until);`;

describe('watchMachineLoad', () => {
  if (existsSync('/proc/stat')) {
    it('reports the share of the cores that were busy', async () => {
      // Every core spinning: this thread, and a worker thread for each other core.
      const others = Array.from({ length: availableParallelism() - 1 }, () => new Worker(spin, { eval: true }));
      const ended = others.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
      await Promise.all(others.map((worker) => new Promise((resolve) => worker.once('online', resolve))));
      const machine = watchMachineLoad();
      new Function(spin)();
      const [load, ...more] = machine.result('lag');
      await Promise.all(ended);

      expect(more).toEqual([]);
      expect(load).toEqual({ workload: 'lag', metric: 'cpu_busy', value: expect.any(Number) });
      expect(load.value).toBeGreaterThanOrEqual(0.6);
      expect(load.value).toBeLessThanOrEqual(1);
    });
  } else {
    it('reports nothing where /proc/stat cannot be read', () => {
      expect(watchMachineLoad().result('lag')).toEqual([]);
    });
  }
});
