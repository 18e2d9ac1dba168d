import { BusinessRuleViolation, type Command, type Decider } from '@tidings/core';
import { ImportNotFound } from '../errors';
import { evolveImportJob, firstErrors, initialImportJob, type ImportEvent, type ImportJob, type RowError } from '../imports';

export type CompleteImportChunk = Command<'CompleteImportChunk', { jobId: string; chunk: number; imported: number; failed: number; errors: readonly RowError[] }>;

/**
 * Records a chunk's outcome once: a chunk recorded before, or a job already ended, changes
 * nothing. The chunk that makes the count whole also completes the job (or fails it, when its
 * rows do not add up to the file's), in the same append —
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
    const totals = { imported: job.imported + imported, failed: job.failed + failed };
    // Every row of the file is counted, imported or failed: rows missing from the count were lost from the stored upload, and the job says so rather than complete without them.
    const lost = job.totalRows - totals.imported - totals.failed;
    if (lost > 0) return [completed, { type: 'ImportFailed', data: { jobId, chunk, reason: `${lost} of the file's ${job.totalRows} rows were lost before they were imported: upload the file again` } }];
    return [completed, { type: 'ImportCompleted', data: { jobId, ...totals } }];
  },
};
