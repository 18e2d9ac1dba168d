import type { Command, Decider } from '@tidings/core';
import { ImportNotFound } from '../errors';
import { evolveImportJob, initialImportJob, type ImportEvent, type ImportJob } from '../imports';

export type FailImport = Command<'FailImport', { jobId: string; chunk: number; reason: string }>;

/** A running job whose chunk cannot be processed ends as failed; a job already ended stays as it is. */
export const failImport: Decider<ImportJob, FailImport, ImportEvent> = {
  initialState: initialImportJob,
  evolve: evolveImportJob,
  decide: (command, job) => {
    if (job.status === 'none') throw new ImportNotFound(command.data.jobId);
    return job.status === 'running' ? [{ type: 'ImportFailed', data: command.data }] : [];
  },
};
