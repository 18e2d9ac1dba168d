import type { Settings } from '@tidings/settings';
import { APPEND, APPEND_BATCH, benchAppend } from './append.bench';
import type { BenchResult } from './bench-result';

export const workloads: Record<string, (settings: Settings) => Promise<BenchResult[]>> = {
  append: async (settings) => [await benchAppend(settings, APPEND)],
  append_batch: async (settings) => [await benchAppend(settings, APPEND_BATCH)],
};
