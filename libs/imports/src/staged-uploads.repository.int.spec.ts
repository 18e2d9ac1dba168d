import { Readable } from 'node:stream';
import { createCommandHandler, uuidV7Ids } from '@tidings/core';
import { testCommandMetadata, useTestEventStore } from '@tidings/testing';
import { completeImportChunk } from './complete-import-chunk/complete-import-chunk';
import { importFileRows } from './import-file/import-file';
import { importStreamId } from './imports';
import { dropAbandonedUploads, stageUpload } from './staged-uploads.repository';
import { startImport } from './start-import/start-import';

const HOUR_MS = 60 * 60_000;

describe('dropping abandoned uploads', () => {
  const given = useTestEventStore();
  const { pool } = given;
  const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);
  const stagedRows = async (jobId: string) => Number((await pool.query<{ count: string }>('SELECT count(*) FROM import_rows WHERE job_id = $1', [jobId])).rows[0].count);

  /** An upload of two rows in one chunk, its last row stored `hoursAgo`; started (and ended) as asked. */
  const stage = (jobId: string) => stageUpload(pool, jobId, importFileRows(Readable.from(['sku,name,priceCents,quantity\na,Mug,100,1\nb,Plate,100,1\n']), { maxBytes: 1_000, batchRows: 10 }), 10);

  async function upload(hoursAgo: number, job: 'never started' | 'running' | 'ended'): Promise<string> {
    const jobId = uuidV7Ids.next();
    await stage(jobId);
    await pool.query("UPDATE import_rows SET staged_at = now() - $2 * interval '1 hour' WHERE job_id = $1", [jobId, hoursAgo]);
    if (job === 'never started') return jobId;
    await handle(startImport, importStreamId(jobId), { type: 'StartImport', data: { jobId, channelId: `import:${jobId}`, totalRows: 2, chunkRows: 10 }, metadata: testCommandMetadata({ commandId: jobId }) });
    if (job === 'ended') {
      await handle(completeImportChunk, importStreamId(jobId), { type: 'CompleteImportChunk', data: { jobId, chunk: 0, imported: 2, failed: 0, errors: [] }, metadata: testCommandMetadata({ commandId: uuidV7Ids.next() }) });
    }
    return jobId;
  }

  it('drops the uploads idle that long whose job never started or has ended, and keeps a running job’s and a recent one', async () => {
    const cutOff = await upload(25, 'never started');
    const ended = await upload(25, 'ended');
    const running = await upload(25, 'running');
    const stillStreaming = await upload(1, 'never started');

    const dropped = await dropAbandonedUploads(pool, given.store, 24 * HOUR_MS, warn);

    expect(dropped.sort()).toEqual([cutOff, ended].sort());
    expect(await Promise.all([cutOff, ended, running, stillStreaming].map(stagedRows))).toEqual([0, 0, 2, 2]);
    expect(await dropAbandonedUploads(pool, given.store, 24 * HOUR_MS, warn)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('keeps an idle upload that a retry of its request is storing again, and drops one once only when two processes sweep at once', async () => {
    const resumed = await upload(25, 'never started');
    // The retry stores the same rows again: they are marked as just stored.
    await stage(resumed);
    const cutOff = await upload(25, 'never started');

    const sweeps = await Promise.all([dropAbandonedUploads(pool, given.store, 24 * HOUR_MS, warn), dropAbandonedUploads(pool, given.store, 24 * HOUR_MS, warn)]);

    expect(sweeps.flat()).toEqual([cutOff]);
    expect(await Promise.all([resumed, cutOff].map(stagedRows))).toEqual([2, 0]);
    expect(warnings).toEqual([]);
  });
});
