import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { migrate } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress, type Progress } from '../progress';
import { startBenchApi } from './bench-api';
import type { BenchResult } from './bench-result';

/** `tidings bench imports`: one CSV file of a million product rows, each a new sku with stock. */
const ROWS = 1_000_000;
const COMPLETED_TIMEOUT_MS = 30 * 60_000;

type ImportJob = { status: string; chunksDone: number; chunksTotal: number; imported: number; failed: number };

/**
 * Uploads the file, streamed as it is generated, to `tidings start` (the API, relay and
 * projector in one process and the chunk workers in another, or the processes
 * TIDINGS_BENCH_PROCESSES lists) and waits until `GET /imports/:jobId` shows the job completed.
 * Reports rows/s from the first byte sent to then (`rows_per_s`), rows/s of the upload alone,
 * until its 202 (`upload_rows_per_s`), and whether every row was imported (`exact`).
 */
export async function benchImports(settings: Settings): Promise<BenchResult[]> {
  await migrate(settings.databaseUrl);
  const api = await startBenchApi(settings, (process.env.TIDINGS_BENCH_PROCESSES ?? 'api,relay,projector sagas').split(' '));
  try {
    const admin = await api.token('bench-imports-admin', ['admin']);
    const run = Date.now().toString(36);
    const started = performance.now();
    const response = await fetch(`${api.baseUrl}/imports/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' },
      body: Readable.toWeb(Readable.from(csvLines(run))),
      duplex: 'half',
    } as RequestInit);
    const answer = (await response.json()) as { jobId?: string; position?: string };
    if (response.status !== 202) throw new Error(`POST /imports/products answered ${response.status}: ${JSON.stringify(answer)}`);
    const uploaded = performance.now();
    const job = await completed(api.baseUrl, admin, answer.jobId as string, answer.position as string);
    const seconds = (performance.now() - started) / 1000;
    return [
      { workload: 'imports', metric: 'rows_per_s', value: Math.round(ROWS / seconds) },
      { workload: 'imports', metric: 'upload_rows_per_s', value: Math.round(ROWS / ((uploaded - started) / 1000)) },
      { workload: 'imports', metric: 'exact', value: job.imported === ROWS && job.failed === 0 ? 1 : 0 },
    ];
  } finally {
    await api.stop();
  }
}

/** The file, a batch of lines at a time: never all of it in memory. */
function* csvLines(run: string): Generator<string> {
  yield 'sku,name,priceCents,quantity\n';
  for (let row = 0; row < ROWS; row += 1_000) {
    yield Array.from({ length: 1_000 }, (_, index) => `bench-${run}-${row + index},Bench product ${row + index},${100 + ((row + index) % 10_000)},${1 + (index % 9)}\n`).join('');
  }
}

/** Polls the job until it is completed, with its chunks as progress. */
async function completed(baseUrl: string, admin: string, jobId: string, position: string): Promise<ImportJob> {
  const deadline = performance.now() + COMPLETED_TIMEOUT_MS;
  let progress: Progress | undefined;
  let shown = 0;
  for (;;) {
    const response = await fetch(`${baseUrl}/imports/${jobId}?minPosition=${position}`, { headers: { authorization: `Bearer ${admin}` } });
    if (response.ok) {
      const job = (await response.json()) as ImportJob;
      progress ??= startProgress('imports', job.chunksTotal, 'chunks');
      progress.advance(job.chunksDone - shown);
      shown = job.chunksDone;
      if (job.status !== 'running') {
        progress.stop();
        if (job.status !== 'completed') throw new Error(`import ${jobId} ended ${job.status}`);
        return job;
      }
    } else if (response.status !== 503) throw new Error(`GET /imports/${jobId} answered ${response.status}`);
    if (performance.now() > deadline) throw new Error(`import ${jobId} did not complete within ${COMPLETED_TIMEOUT_MS / 60_000} minutes`);
    await delay(200);
  }
}
