import type { Settings } from '@tidings/settings';
import { APPEND, APPEND_BATCH, benchAppend } from './append.bench';
import type { BenchResult } from './bench-result';
import { benchFeed } from './feed.bench';
import { benchHttp } from './http.bench';
import { benchImports } from './imports.bench';
import { benchLag } from './lag.bench';
import { benchProject } from './project.bench';
import { benchRebuild } from './rebuild.bench';
import { benchRelay } from './relay.bench';
import { benchViews } from './views.bench';

export const workloads: Record<string, (settings: Settings) => Promise<BenchResult[]>> = {
  append: async (settings) => [await benchAppend(settings, APPEND)],
  append_batch: async (settings) => [await benchAppend(settings, APPEND_BATCH)],
  relay: async (settings) => [await benchRelay(settings)],
  project: async (settings) => [await benchProject(settings)],
  rebuild: async (settings) => [await benchRebuild(settings)],
  http: async (settings) => [await benchHttp(settings)],
  lag: benchLag,
  views: benchViews,
  feed: benchFeed,
  imports: benchImports,
};
