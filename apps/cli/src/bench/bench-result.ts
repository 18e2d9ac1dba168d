export type BenchResult = Readonly<{
  workload: string;
  metric: string;
  value: number;
  baseline?: string;
  baseline_value?: number;
  ratio?: number;
}>;

export const compared = (
  workload: string,
  metric: string,
  value: number,
  baseline: string,
  baselineValue: number,
): BenchResult => ({
  workload,
  metric,
  value: Math.round(value),
  baseline,
  baseline_value: Math.round(baselineValue),
  ratio: Math.round((value / baselineValue) * 100) / 100,
});

export const describeResult = (result: BenchResult): string =>
  result.baseline === undefined
    ? `${result.workload}: ${result.metric} = ${result.value}`
    : `${result.workload}: ${result.metric} = ${result.value} vs ${result.baseline} = ${result.baseline_value} (ratio ${result.ratio})`;

/** Runs each worker's list of items in order, all workers at once; returns the seconds it took. */
export async function timeWorkers<T>(
  lists: readonly (readonly T[])[],
  work: (item: T, worker: number) => Promise<void>,
): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    lists.map(async (items, worker) => {
      for (const item of items) await work(item, worker);
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The nearest-rank percentile (p in 0-100) of a sample. */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
