import { readFileSync } from 'node:fs';
import type { BenchResult } from './bench-result';

type CpuTimes = Readonly<{ idle: number; total: number }>;

/** Every core's time since boot, in clock ticks, from the first line of /proc/stat; undefined where there is none (not Linux). */
function cpuTimes(): CpuTimes | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal …: guest time is counted in user already.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/**
 * Watches how busy the machine's cores are from now on. `result(workload)`: the share of their
 * time they were not idle since (0 to 1), every process counted — the servers, PostgreSQL,
 * NATS and the bench's own load — as `cpu_busy`; none where /proc/stat cannot be read. A
 * latency measured near 1 includes waiting for a core.
 */
export function watchMachineLoad(): { result(workload: string): BenchResult[] } {
  const start = cpuTimes();
  return {
    result(workload) {
      const end = cpuTimes();
      if (!start || !end || end.total === start.total) return [];
      const busy = 1 - (end.idle - start.idle) / (end.total - start.total);
      return [{ workload, metric: 'cpu_busy', value: Math.round(busy * 100) / 100 }];
    },
  };
}
