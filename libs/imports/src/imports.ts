import type { Message } from '@tidings/core';

/** One stream per import job, `import-<jobId>`: its start, each chunk's completion, its end. */
export const importStreamId = (jobId: string): string => `import-${jobId}`;

/** The WebSocket channel (and GraphQL topic) every job's progress is pushed on. */
export const importChannelOf = (jobId: string): string => `import:${jobId}`;

/** The work queue of chunks to import (`<NAMESPACE>_WORK_IMPORTS`). */
export const IMPORT_WORK_QUEUE = 'imports';

/** A CSV file's first line, exactly. */
export const IMPORT_HEADER = ['sku', 'name', 'priceCents', 'quantity'] as const;

/** A row the import refused: its line in the file (the header is line 1) and why. */
export type RowError = Readonly<{ line: number; message: string }>;

/** A job reports at most this many errors, those of the lowest lines; the counts cover them all. */
export const MAX_REPORTED_ERRORS = 100;

export type ImportStarted = Message<'ImportStarted', { jobId: string; channelId: string; totalRows: number; chunksTotal: number }>;
/** A chunk's rows were imported (or refused): its counts, and the first of its errors. */
export type ImportChunkCompleted = Message<'ImportChunkCompleted', { jobId: string; chunk: number; imported: number; failed: number; errors: readonly RowError[] }>;
export type ImportCompleted = Message<'ImportCompleted', { jobId: string; imported: number; failed: number }>;
/** A chunk could not be processed at all, however often it was tried: the job ends without it. */
export type ImportFailed = Message<'ImportFailed', { jobId: string; chunk: number; reason: string }>;

export type ImportEvent = ImportStarted | ImportChunkCompleted | ImportCompleted | ImportFailed;

export type ImportJobStatus = 'running' | 'completed' | 'failed';

export type ImportJob =
  | Readonly<{ status: 'none' }>
  | Readonly<{
      status: ImportJobStatus;
      jobId: string;
      channelId: string;
      totalRows: number;
      chunksTotal: number;
      /** The chunks recorded so far: each counts once, however often it was processed. */
      chunksDone: ReadonlySet<number>;
      imported: number;
      failed: number;
    }>;

export const initialImportJob = (): ImportJob => ({ status: 'none' });

export function evolveImportJob(job: ImportJob, event: ImportEvent): ImportJob {
  if (event.type === 'ImportStarted') return { status: 'running', ...event.data, chunksDone: new Set(), imported: 0, failed: 0 };
  if (job.status === 'none') return job;
  switch (event.type) {
    case 'ImportChunkCompleted':
      return { ...job, chunksDone: new Set(job.chunksDone).add(event.data.chunk), imported: job.imported + event.data.imported, failed: job.failed + event.data.failed };
    case 'ImportCompleted':
      return { ...job, status: 'completed' };
    case 'ImportFailed':
      return { ...job, status: 'failed' };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** The errors of the lowest lines among both lists, in line order, at most MAX_REPORTED_ERRORS. */
export const firstErrors = (errors: readonly RowError[], more: readonly RowError[] = []): RowError[] =>
  [...errors, ...more].sort((a, b) => a.line - b.line).slice(0, MAX_REPORTED_ERRORS);
