import type { Pool } from 'pg';
import { isUndefinedTable } from '@tidings/read-models';
import { importJobRowOf, importJobViewOf, type ImportJobRecord, type ImportJobView } from './import-jobs.projection';

export async function findImportJob(pool: Pool, jobId: string): Promise<ImportJobView | undefined> {
  const { rows } = await pool.query<ImportJobRecord>({ name: 'tidings_find_import_job', text: 'SELECT * FROM import_jobs WHERE job_id = $1', values: [jobId] });
  return rows[0] && importJobViewOf(importJobRowOf(rows[0]));
}

/** The jobs the read model shows running; none before a projector has created it. */
export async function runningImportJobIds(pool: Pool): Promise<string[]> {
  try {
    const { rows } = await pool.query<{ job_id: string }>("SELECT job_id FROM import_jobs WHERE status = 'running' ORDER BY job_id");
    return rows.map((row) => row.job_id);
  } catch (error) {
    if (isUndefinedTable(error)) return [];
    throw error;
  }
}
