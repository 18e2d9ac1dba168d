import { Readable } from 'node:stream';
import { createCommandHandler, systemClock, uuidV7Ids, type HandleCommand } from '@tidings/core';
import { productStreamId, registerProduct } from '@tidings/inventory';
import { testCommandMetadata, useTestEventStore } from '@tidings/testing';
import { importFileRows } from '../import-file/import-file';
import { importStreamId } from '../imports';
import { stagedUploads, stageUpload } from '../staged-uploads.repository';
import { startImport } from '../start-import/start-import';
import { abandonChunk, importChunk, type ImportChunkDeps } from './import-chunk';

const CHUNK_ROWS = 3;

describe('importing chunks on PostgreSQL', () => {
  const given = useTestEventStore();
  const { pool } = given;

  const deps = (handle: HandleCommand): ImportChunkDeps => ({ handle, upload: stagedUploads(pool), clock: systemClock, concurrency: 8 });
  const stagedRows = async (jobId: string) => Number((await pool.query<{ count: string }>('SELECT count(*) FROM import_rows WHERE job_id = $1', [jobId])).rows[0].count);

  /** Stores the file and starts its job, as the API does. */
  async function upload(csv: string): Promise<{ jobId: string; chunks: number }> {
    const jobId = uuidV7Ids.next();
    const rows = await stageUpload(pool, jobId, importFileRows(Readable.from([csv]), { maxBytes: 1_000_000, batchRows: 4 }), CHUNK_ROWS);
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    await handle(startImport, importStreamId(jobId), { type: 'StartImport', data: { jobId, channelId: `import:${jobId}`, totalRows: rows, chunkRows: CHUNK_ROWS }, metadata: testCommandMetadata({ commandId: jobId }) });
    return { jobId, chunks: Math.ceil(rows / CHUNK_ROWS) };
  }

  it('imports every good row once and reports every bad one once, with each chunk processed twice by two processes at once', async () => {
    const run = Date.now().toString(36);
    const sku = (name: string) => `${name}-${run}`;
    const known = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    await known(registerProduct, productStreamId(sku('known')), { type: 'RegisterProduct', data: { sku: sku('known'), name: 'Old name', priceCents: 100, currency: 'EUR' }, metadata: testCommandMetadata({ commandId: uuidV7Ids.next() }) });
    const { jobId, chunks } = await upload(
      [
        'sku,name,priceCents,quantity',
        `${sku('a')},Mug,1200,5`,
        `${sku('b')},,1200,5`,
        `${sku('c')},Plate,12.5,1`,
        `${sku('a')},Mug again,1200,5`,
        `${sku('known')},New name,150,2`,
        `${sku('d')},Cup,300,-1`,
        `${sku('e')},Bowl,450,0`,
      ].join('\n'),
    );
    expect(chunks).toBe(3);

    const processes = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const work = Array.from({ length: chunks }, (_, chunk) => ({ jobId, chunk, actor: 'ops' }));
    await Promise.all([...work, ...[...work].reverse()].map((item, index) => importChunk(deps(processes[index % 2]), item)));

    const job = await given.store.readStream(importStreamId(jobId));
    expect(job.filter((event) => event.type === 'ImportChunkCompleted')).toHaveLength(3);
    expect(job.filter((event) => event.type === 'ImportCompleted').map((event) => event.data)).toEqual([{ jobId, imported: 3, failed: 4 }]);
    const errors = job.flatMap((event) => (event.type === 'ImportChunkCompleted' ? (event.data as { errors: { line: number; message: string }[] }).errors : [])).sort((x, y) => x.line - y.line);
    expect(errors).toEqual([
      { line: 3, message: 'name is missing' },
      { line: 4, message: 'priceCents must be a whole number, not "12.5"' },
      { line: 5, message: `duplicate sku ${sku('a')}: already on line 2` },
      { line: 7, message: 'quantity must not be negative' },
    ]);
    const types = async (name: string) => (await given.store.readStream(productStreamId(sku(name)))).map((event) => event.type);
    expect(await types('a')).toEqual(['ProductRegistered', 'StockReceived']);
    expect(await types('known')).toEqual(['ProductRegistered', 'ProductRevised', 'StockReceived']);
    expect(await types('e')).toEqual(['ProductRegistered']);
    expect(await types('b')).toEqual([]);
    expect(await stagedRows(jobId)).toBe(0);
  });

  it('completes once when the last chunks are recorded by two processes at the same moment', async () => {
    const rows = Array.from({ length: 12 }, (_, index) => `race-${index}-${Date.now()},Item,100,1`);
    const { jobId, chunks } = await upload(['sku,name,priceCents,quantity', ...rows].join('\n'));
    const handlers = Array.from({ length: chunks }, () => createCommandHandler({ store: given.store, ids: uuidV7Ids }));
    await Promise.all(Array.from({ length: chunks }, (_, chunk) => importChunk(deps(handlers[chunk]), { jobId, chunk, actor: 'ops' })));

    const job = await given.store.readStream(importStreamId(jobId));
    expect(job.map((event) => event.streamVersion)).toEqual(job.map((_, index) => index));
    expect(job.filter((event) => event.type === 'ImportCompleted').map((event) => event.data)).toEqual([{ jobId, imported: 12, failed: 0 }]);
  });

  it('fails the job when a chunk is abandoned, and records nothing for chunks after that', async () => {
    const { jobId } = await upload(['sku,name,priceCents,quantity', ...Array.from({ length: 6 }, (_, index) => `gone-${index}-${Date.now()},Item,100,1`)].join('\n'));
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    await abandonChunk(deps(handle), { jobId, chunk: 0, actor: 'ops' }, 'the database refused it ten times');
    await importChunk(deps(handle), { jobId, chunk: 1, actor: 'ops' });

    const job = await given.store.readStream(importStreamId(jobId));
    expect(job.map((event) => event.type)).toEqual(['ImportStarted', 'ImportFailed']);
    expect(await stagedRows(jobId)).toBe(0);
  });
});
