import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { ImportNotFound } from '../errors';
import { evolveImportJob, firstErrors, initialImportJob, type ImportEvent, type ImportJob, type RowError } from '../imports';

export type CompleteImportChunk = Command<'CompleteImportChunk', { jobId: string; chunk: number; imported: number; failed: number; errors: readonly RowError[] }>;

/**
 * Records a chunk's outcome once: a chunk recorded before, or a job already ended, changes
 * nothing. The chunk that makes the count whole also completes the job, in the same append —
 * appended with the version the decision was made on, so two last chunks can never both
 * complete it.
 */
export const completeImportChunk: Decider<ImportJob, CompleteImportChunk, ImportEvent> = {
  initialState: initialImportJob,
  evolve: evolveImportJob,
  decide: (command, job) => {
    const { jobId, chunk, imported, failed, errors } = command.data;
    if (job.status === 'none') throw new ImportNotFound(jobId);
    if (job.status !== 'running' || job.chunksDone.has(chunk)) return [];
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= job.chunksTotal) {
      throw new BusinessRuleViolation('import-chunk-unknown', `import ${jobId} has chunks 0-${job.chunksTotal - 1}, not ${chunk}`);
    }
    const completed: ImportEvent = { type: 'ImportChunkCompleted', data: { jobId, chunk, imported, failed, errors: firstErrors(errors) } };
    if (job.chunksDone.size + 1 < job.chunksTotal) return [completed];
    return [completed, { type: 'ImportCompleted', data: { jobId, imported: job.imported + imported, failed: job.failed + failed } }];
  },
};
