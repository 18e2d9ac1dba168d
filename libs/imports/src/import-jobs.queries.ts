import type { Pool } from 'pg';
import { importJobRowOf, importJobViewOf, type ImportJobRecord, type ImportJobView } from './import-jobs.projection';

export async function findImportJob(pool: Pool, jobId: string): Promise<ImportJobView | undefined> {
  const { rows } = await pool.query<ImportJobRecord>({ name: 'tidings_find_import_job', text: 'SELECT * FROM import_jobs WHERE job_id = $1', values: [jobId] });
  return rows[0] && importJobViewOf(importJobRowOf(rows[0]));
}
