import type { ImportEvent, RowError } from './imports';

/** Histories for the specs of this context: job `job-1` of 3 chunks. */
export const started = (chunksTotal = 3): ImportEvent => ({ type: 'ImportStarted', data: { jobId: 'job-1', channelId: 'import:job-1', totalRows: chunksTotal * 10, chunksTotal } });
export const chunkCompleted = (chunk: number, imported: number, failed = 0, errors: RowError[] = []): ImportEvent => ({
  type: 'ImportChunkCompleted',
  data: { jobId: 'job-1', chunk, imported, failed, errors },
});
export const completed = (imported: number, failed: number): ImportEvent => ({ type: 'ImportCompleted', data: { jobId: 'job-1', imported, failed } });
