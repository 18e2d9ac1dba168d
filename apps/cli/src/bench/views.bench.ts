import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'pg';
import { migrate } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { zipf } from '../zipf';
import { startBenchApi } from './bench-api';
import type { BenchResult } from './bench-result';
import { requestJson } from './load-generator';
import { watchMachineLoad } from './machine-load';

/** QUALITY.md `views`: 200k views, `POST /views` batches of 100 from 8 clients, Zipf over 1k videos. */
const VIEWS = 200_000;
const PER_REQUEST = 100;
const CLIENTS = 8;
const VIDEOS = 1_000;
const CAUGHT_UP_TIMEOUT_MS = 10 * 60_000;
/** An idle PostgreSQL backend reports its table statistics within 10 s. */
const STATISTICS_SETTLE_MS = 11_000;

/**
 * Sends the views as fast as 8 clients can against `tidings start` (every role in one process,
 * or the processes TIDINGS_BENCH_PROCESSES lists), then waits until the views read model has
 * applied the last request's position. Reports views/s from the first request to that moment
 * (and to the last request's answer, `upload_views_per_s`: what is left is the pipeline's tail);
 * whether every video's count equals what was sent; and the rows the read model wrote per view
 * (inserts and updates of its tables, from PostgreSQL's statistics).
 */
export async function benchViews(settings: Settings): Promise<BenchResult[]> {
  await migrate(settings.databaseUrl);
  const api = await startBenchApi(settings, (process.env.TIDINGS_BENCH_PROCESSES ?? 'api,relay,projector,sagas').split(' '));
  const pool = new Pool({ connectionString: settings.databaseUrl, max: 2 });
  try {
    const admin = await api.token('bench-views-admin', ['admin']);
    const run = randomBytes(3).toString('hex');
    const videos = Array.from({ length: VIDEOS }, (_, rank) => `bench-views-${run}-${rank}`);
    const pick = zipf(VIDEOS);
    const sent = new Map<string, number>();
    const requests = Array.from({ length: VIEWS / PER_REQUEST }, () =>
      Array.from({ length: PER_REQUEST }, () => {
        const videoId = videos[pick()];
        sent.set(videoId, (sent.get(videoId) ?? 0) + 1);
        return { videoId };
      }),
    );
    // Whatever the database already holds is relayed and counted first: the figures are for a pipeline at head.
    await caughtUp(api.baseUrl, admin, BigInt((await pool.query<{ head: string }>('SELECT coalesce(max(position), 0) AS head FROM events')).rows[0].head));
    const rowsBefore = await rowsWritten(pool);
    const progress = startProgress('views', VIEWS, 'views');
    const started = performance.now();
    const machine = watchMachineLoad();
    let head = 0n;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (let views = requests.pop(); views; views = requests.pop()) {
          // Anonymous viewers, over node:http: fetch cost this process about 2 ms of CPU a request, taken from the server's cores.
          const answer = await requestJson(api.baseUrl, undefined, 'POST', '/views', { views });
          if (BigInt(answer.position as string) > head) head = BigInt(answer.position as string);
          progress.advance(PER_REQUEST);
        }
      }),
    );
    progress.stop();
    const uploadSeconds = (performance.now() - started) / 1000;
    await caughtUp(api.baseUrl, admin, head);
    const seconds = (performance.now() - started) / 1000;
    const load = machine.result('views');

    const { rows } = await pool.query<{ video_id: string; views: string }>(
      `SELECT video_id, sum(count) AS views FROM (SELECT video_id, count FROM video_views_minute UNION ALL SELECT video_id, count FROM video_views_hour) AS counted
       WHERE video_id LIKE $1 GROUP BY video_id`,
      [`bench-views-${run}-%`],
    );
    const counted = new Map(rows.map((row) => [row.video_id, Number(row.views)]));
    const exact = counted.size === sent.size && [...sent].every(([videoId, views]) => counted.get(videoId) === views);
    await delay(STATISTICS_SETTLE_MS);
    const written = (await rowsWritten(pool)) - rowsBefore;
    return [
      { workload: 'views', metric: 'views_per_s', value: Math.round(VIEWS / seconds) },
      { workload: 'views', metric: 'upload_views_per_s', value: Math.round(VIEWS / uploadSeconds) },
      { workload: 'views', metric: 'exact', value: exact ? 1 : 0 },
      { workload: 'views', metric: 'rows_per_view', value: Math.round((written / VIEWS) * 10_000) / 10_000 },
      ...load,
    ];
  } finally {
    await pool.end();
    await api.stop();
  }
}

/** Inserts and updates of the views read model's tables (every version), as PostgreSQL counts them. */
async function rowsWritten(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ written: string | null }>(
    `SELECT sum(n_tup_ins + n_tup_upd) AS written FROM pg_stat_user_tables WHERE relname LIKE 'video\\_views\\_minute\\_v%' OR relname LIKE 'video\\_views\\_hour\\_v%'`,
  );
  return Number(rows[0].written ?? 0);
}

/** Waits until the views read model answers `?minPosition=` for the last request (it waits 5 s per try, then 503). */
async function caughtUp(baseUrl: string, admin: string, position: bigint): Promise<void> {
  const deadline = performance.now() + CAUGHT_UP_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(`${baseUrl}/videos/trending?limit=1&minPosition=${position}`, { headers: { authorization: `Bearer ${admin}` } });
    if (response.ok) return;
    if (response.status !== 503) throw new Error(`GET /videos/trending answered ${response.status}`);
    if (performance.now() > deadline) throw new Error(`the views read model did not reach position ${position} within ${CAUGHT_UP_TIMEOUT_MS / 60_000} minutes`);
    process.stderr.write(`views: the read model has not reached position ${position} yet\n`);
  }
}
