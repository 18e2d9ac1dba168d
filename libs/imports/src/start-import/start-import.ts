import type { Command, Decider } from '@tidings/core';
import { ImportAlreadyStarted } from '../errors';
import { evolveImportJob, initialImportJob, type ImportEvent, type ImportJob } from '../imports';

export type StartImport = Command<'StartImport', { jobId: string; channelId: string; totalRows: number; chunkRows: number }>;

/** A stored upload becomes a job of `ceil(totalRows / chunkRows)` chunks; a file with no rows is done at once. */
export const startImport: Decider<ImportJob, StartImport, ImportEvent> = {
  initialState: initialImportJob,
  evolve: evolveImportJob,
  decide: (command, job) => {
    const { jobId, channelId, totalRows, chunkRows } = command.data;
    if (job.status !== 'none') throw new ImportAlreadyStarted(jobId);
    const chunksTotal = Math.ceil(totalRows / chunkRows);
    const started: ImportEvent = { type: 'ImportStarted', data: { jobId, channelId, totalRows, chunksTotal } };
    return chunksTotal === 0 ? [started, { type: 'ImportCompleted', data: { jobId, imported: 0, failed: 0 } }] : [started];
  },
};
