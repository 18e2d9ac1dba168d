import type { Pool } from 'pg';
import type { EventStore, RecordedEvent } from '@tidings/core';
import { inTransaction } from '@tidings/read-models';
import { evolveImportJob, importStreamId, initialImportJob, type ImportEvent } from './imports';
import type { FileRow } from './import-file/import-file';
import type { StagedUpload } from './import-chunk/import-chunk';
import { skuOf } from './import-row/import-row';

/** An upload's advisory lock, of the job id in `$1`: its batches take it shared, a sweep that drops it exclusively. */
const UPLOAD_LOCK = "hashtext('tidings.import-upload:' || $1::uuid::text)";

/**
 * Stores an upload's rows (`import_rows`) as the file streams in, numbered into chunks of
 * `chunkRows`, one short transaction per batch: a transaction held open for a whole file would
 * hold back every reader of `$all` on the server meanwhile (the store's gap-safety waits for
 * the oldest running transaction). A file refused halfway has what was stored of it deleted
 * before the refusal is answered. A retry of the same job (same Idempotency-Key) stores
 * nothing twice, and marks what it stores again as just stored: the upload is not idle while a
 * retry streams it in (see dropAbandonedUploads). Returns the rows of the file.
 */
export async function stageUpload(pool: Pool, jobId: string, batches: AsyncIterable<readonly FileRow[]>, chunkRows: number): Promise<number> {
  let rows = 0;
  try {
    for await (const batch of batches) {
      await pool.query({
        name: 'tidings_stage_import_rows',
        // Under the upload's lock, shared: a sweep of the upload waits for the batch, and the batch for the sweep.
        text: `WITH upload AS (SELECT pg_advisory_xact_lock_shared(${UPLOAD_LOCK}))
               INSERT INTO import_rows (job_id, chunk, line, sku, fields)
               SELECT $1, chunk, line, sku, fields::jsonb FROM unnest($2::int[], $3::int[], $4::text[], $5::text[]) AS staged(chunk, line, sku, fields), upload
               ON CONFLICT (job_id, chunk, line) DO UPDATE SET staged_at = excluded.staged_at`,
        values: [jobId, batch.map((_, index) => Math.floor((rows + index) / chunkRows)), batch.map((row) => row.line), batch.map((row) => skuOf(row.fields)), batch.map((row) => JSON.stringify(row.fields))],
      });
      rows += batch.length;
    }
    return rows;
  } catch (error) {
    await dropUpload(pool, jobId).catch(() => undefined);
    throw error;
  }
}

const dropUpload = (pool: Pool, jobId: string) => pool.query({ name: 'tidings_drop_import_rows', text: 'DELETE FROM import_rows WHERE job_id = $1', values: [jobId] });

/** The stored uploads, as chunk workers read them. */
export const stagedUploads = (pool: Pool): StagedUpload => ({
  async rowsOf(jobId, chunk) {
    const { rows } = await pool.query<{ line: number; fields: string[] }>({
      name: 'tidings_import_chunk_rows',
      text: 'SELECT line, fields FROM import_rows WHERE job_id = $1 AND chunk = $2 ORDER BY line',
      values: [jobId, chunk],
    });
    return rows;
  },
  async firstLinesOf(jobId, skus) {
    const { rows } = await pool.query<{ sku: string; line: number }>({
      name: 'tidings_import_first_lines',
      text: 'SELECT sku, min(line) AS line FROM import_rows WHERE job_id = $1 AND sku = ANY($2) GROUP BY sku',
      values: [jobId, skus],
    });
    return new Map(rows.map((row) => [row.sku, row.line]));
  },
  async drop(jobId) {
    await dropUpload(pool, jobId);
  },
});

/**
 * Drops the stored uploads that no job will read: those no row has been added to for `idleMs`
 * whose job never started (the API process died while the file streamed in, or before it
 * started the job) or has ended (a process died between the end and its drop). A running job's
 * upload is kept however old. Each is dropped under its upload's lock, and only if still idle
 * then, so a retry streaming it in again (which marks its rows as just stored) keeps it; one
 * that fails is told and the others are still looked at. Returns the jobs whose uploads this
 * call dropped.
 */
export async function dropAbandonedUploads(pool: Pool, store: EventStore, idleMs: number, warn: (line: string) => void): Promise<string[]> {
  const { rows } = await pool.query<{ job_id: string }>(
    "SELECT job_id FROM import_rows GROUP BY job_id HAVING max(staged_at) < now() - $1 * interval '1 millisecond'",
    [idleMs],
  );
  const dropped: string[] = [];
  for (const { job_id: jobId } of rows) {
    try {
      const job = ((await store.readStream(importStreamId(jobId))) as RecordedEvent<ImportEvent>[]).reduce(evolveImportJob, initialImportJob());
      if (job.status === 'running') continue;
      const deleted = await inTransaction(pool, async (db) => {
        await db.query(`SELECT pg_advisory_xact_lock(${UPLOAD_LOCK})`, [jobId]);
        const { rowCount } = await db.query(
          `DELETE FROM import_rows WHERE job_id = $1
             AND NOT EXISTS (SELECT 1 FROM import_rows WHERE job_id = $1 AND staged_at >= now() - $2 * interval '1 millisecond')`,
          [jobId, idleMs],
        );
        return rowCount ?? 0;
      });
      if (deleted > 0) dropped.push(jobId);
    } catch (error) {
      warn(`cannot drop the abandoned upload of import ${jobId} now: ${(error as Error).message}`);
    }
  }
  return dropped;
}
