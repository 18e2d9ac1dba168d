import type { Settings } from '@tidings/settings';
import type { BenchResult } from './bench-result';

/** Each workload loads its code when it runs: `tidings` itself starts without loading every benchmark. */
export const workloads: Record<string, (settings: Settings) => Promise<BenchResult[]>> = {
  append: async (settings) => {
    const { APPEND, benchAppend } = await import('./append.bench');
    return [await benchAppend(settings, APPEND)];
  },
  append_batch: async (settings) => {
    const { APPEND_BATCH, benchAppend } = await import('./append.bench');
    return [await benchAppend(settings, APPEND_BATCH)];
  },
  relay: async (settings) => [await (await import('./relay.bench')).benchRelay(settings)],
  project: async (settings) => [await (await import('./project.bench')).benchProject(settings)],
  rebuild: async (settings) => [await (await import('./rebuild.bench')).benchRebuild(settings)],
  http: async (settings) => [await (await import('./http.bench')).benchHttp(settings)],
  lag: async (settings) => (await import('./lag.bench')).benchLag(settings),
  views: async (settings) => (await import('./views.bench')).benchViews(settings),
  feed: async (settings) => (await import('./feed.bench')).benchFeed(settings),
  imports: async (settings) => (await import('./imports.bench')).benchImports(settings),
};
