import type { RecordedEvent } from '@tidings/core';
import { quoteIdentifier, type Projection } from '@tidings/read-models';
import { firstErrors, importChannelOf, type ImportEvent, type ImportJobStatus, type RowError } from './imports';

/** A job as `GET /imports/:jobId` shows it (API.md). */
export type ImportJobView = Readonly<{
  jobId: string;
  status: ImportJobStatus;
  totalRows: number;
  chunksTotal: number;
  chunksDone: number;
  imported: number;
  failed: number;
  /** The first errors by line, at most MAX_REPORTED_ERRORS. */
  errors: readonly RowError[];
}>;

export type ImportJobRow = ImportJobView & Readonly<{ channelId: string; version: number; position: bigint }>;

/** What subscribers of an import's channels hear: `progress` per chunk (k of n), then `completed` or `failed`. */
export type ImportProgress = Readonly<{ type: 'progress' | 'completed' | 'failed'; channels: readonly string[]; job: ImportJobView }>;

export type ImportJobsProjectionOptions = Readonly<{
  /** Told, once a batch has committed, of each job's progress in it, in order. */
  onProgress?: (progress: ImportProgress) => void;
}>;

const IMPORT_EVENTS = new Set<string>(['ImportStarted', 'ImportChunkCompleted', 'ImportCompleted', 'ImportFailed'] satisfies ImportEvent['type'][]);
const isImportEvent = (event: RecordedEvent): event is RecordedEvent<ImportEvent> => IMPORT_EVENTS.has(event.type);

/** How one event changes a job's row; the same row back when it changes nothing (an old version). */
export function evolveImportJobRow(row: ImportJobRow | undefined, event: RecordedEvent<ImportEvent>): ImportJobRow | undefined {
  if (row && event.streamVersion <= row.version) return row;
  const applied = { version: event.streamVersion, position: event.position };
  if (event.type === 'ImportStarted') {
    const { jobId, channelId, totalRows, chunksTotal } = event.data;
    return { jobId, channelId, status: 'running', totalRows, chunksTotal, chunksDone: 0, imported: 0, failed: 0, errors: [], ...applied };
  }
  if (!row) return row;
  switch (event.type) {
    case 'ImportChunkCompleted':
      return {
        ...row,
        chunksDone: row.chunksDone + 1,
        imported: row.imported + event.data.imported,
        failed: row.failed + event.data.failed,
        errors: firstErrors(row.errors, event.data.errors),
        ...applied,
      };
    case 'ImportCompleted':
      return { ...row, status: 'completed', ...applied };
    case 'ImportFailed':
      return { ...row, status: 'failed', ...applied };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export type ImportJobRecord = {
  job_id: string;
  channel_id: string;
  status: ImportJobStatus;
  total_rows: number;
  chunks_total: number;
  chunks_done: number;
  imported: number;
  failed: number;
  errors: RowError[];
  version: number;
  position: string;
};

/**
 * Import jobs as their streams say (ARCHITECTURE §6 imports): counts, status and the first
 * errors, one row per job. Each event applied is told to `onProgress` after the commit, in
 * stream order: a job's stream is one partition's, so its subscribers hear k of n in order.
 */
export const importJobsProjection = ({ onProgress }: ImportJobsProjectionOptions = {}): Projection => ({
  name: 'imports',
  categories: ['import'],
  tables: {
    import_jobs: (table) => `
      CREATE TABLE ${table} (
        job_id       text   PRIMARY KEY,
        channel_id   text   NOT NULL,
        status       text   NOT NULL,
        total_rows   int    NOT NULL,
        chunks_total int    NOT NULL,
        chunks_done  int    NOT NULL,
        imported     int    NOT NULL,
        failed       int    NOT NULL,
        errors       jsonb  NOT NULL,
        version      int    NOT NULL,
        position     bigint NOT NULL
      )`,
  },

  async apply(db, events, tables, afterCommit) {
    const table = quoteIdentifier(tables.import_jobs);
    const importEvents = events.filter(isImportEvent);
    if (importEvents.length === 0) return;
    const { rows } = await db.query<ImportJobRecord>(`SELECT * FROM ${table} WHERE job_id = ANY($1)`, [[...new Set(importEvents.map((event) => event.data.jobId))]]);
    const current = new Map(rows.map((record) => [record.job_id, importJobRowOf(record)]));
    const changed = new Map<string, ImportJobRow>();
    const progress: ImportProgress[] = [];
    for (const event of importEvents) {
      const before = current.get(event.data.jobId);
      const after = evolveImportJobRow(before, event);
      if (!after || after === before) continue;
      current.set(after.jobId, after);
      changed.set(after.jobId, after);
      if (event.type !== 'ImportStarted') progress.push(progressOf(event.type, after));
    }
    if (changed.size === 0) return;
    const written = [...changed.values()];
    await db.query(
      `INSERT INTO ${table} (job_id, channel_id, status, total_rows, chunks_total, chunks_done, imported, failed, errors, version, position)
       SELECT job_id, channel_id, status, total_rows, chunks_total, chunks_done, imported, failed, errors::jsonb, version, position
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::text[], $10::int[], $11::bigint[])
         AS written(job_id, channel_id, status, total_rows, chunks_total, chunks_done, imported, failed, errors, version, position)
       ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, chunks_done = excluded.chunks_done, imported = excluded.imported,
         failed = excluded.failed, errors = excluded.errors, version = excluded.version, position = excluded.position`,
      [
        written.map((row) => row.jobId),
        written.map((row) => row.channelId),
        written.map((row) => row.status),
        written.map((row) => row.totalRows),
        written.map((row) => row.chunksTotal),
        written.map((row) => row.chunksDone),
        written.map((row) => row.imported),
        written.map((row) => row.failed),
        written.map((row) => JSON.stringify(row.errors)),
        written.map((row) => row.version),
        written.map((row) => row.position.toString()),
      ],
    );
    if (onProgress && progress.length) afterCommit?.(() => progress.forEach(onProgress));
  },
});

const PROGRESS_TYPES = { ImportChunkCompleted: 'progress', ImportCompleted: 'completed', ImportFailed: 'failed' } as const;

/** The job's own channel, and the one its uploader named if another. */
const progressOf = (type: keyof typeof PROGRESS_TYPES, row: ImportJobRow): ImportProgress => ({
  type: PROGRESS_TYPES[type],
  channels: [...new Set([importChannelOf(row.jobId), row.channelId])],
  job: importJobViewOf(row),
});

export const importJobViewOf = ({ jobId, status, totalRows, chunksTotal, chunksDone, imported, failed, errors }: ImportJobRow): ImportJobView => ({
  jobId,
  status,
  totalRows,
  chunksTotal,
  chunksDone,
  imported,
  failed,
  errors,
});

export const importJobRowOf = (record: ImportJobRecord): ImportJobRow => ({
  jobId: record.job_id,
  channelId: record.channel_id,
  status: record.status,
  totalRows: record.total_rows,
  chunksTotal: record.chunks_total,
  chunksDone: record.chunks_done,
  imported: record.imported,
  failed: record.failed,
  errors: record.errors,
  version: record.version,
  position: BigInt(record.position),
});
