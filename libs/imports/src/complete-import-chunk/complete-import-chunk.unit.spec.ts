import { BusinessRuleViolation, decidedEvents } from '@tidings/core';
import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ImportNotFound } from '../errors';
import { MAX_REPORTED_ERRORS, type RowError } from '../imports';
import { chunkCompleted, completed, started } from '../imports.fixture';
import { completeImportChunk, type CompleteImportChunk } from './complete-import-chunk';

const complete = (chunk: number, imported: number, failed = 0, errors: RowError[] = []): CompleteImportChunk => ({
  type: 'CompleteImportChunk',
  data: { jobId: 'job-1', chunk, imported, failed, errors },
  metadata: testCommandMetadata(),
});

describe('CompleteImportChunk', () => {
  const spec = deciderSpec(completeImportChunk);

  it('records a chunk of a running job with its counts and errors', () => {
    const errors = [{ line: 4, message: 'name is missing' }];
    spec.given([started()]).when(complete(1, 9, 1, errors)).then([chunkCompleted(1, 9, 1, errors)]);
  });

  it('completes the job with the totals when the last chunk is recorded, whichever it is', () => {
    spec
      .given([started(), chunkCompleted(2, 10), chunkCompleted(0, 8, 2)])
      .when(complete(1, 7, 3))
      .then([chunkCompleted(1, 7, 3), completed(25, 5)]);
  });

  it('fails the job, rather than complete it, when its chunks counted fewer rows than the file had: rows were lost', () => {
    spec
      .given([started(), chunkCompleted(2, 10), chunkCompleted(0, 8, 2)])
      .when(complete(1, 0))
      .then([chunkCompleted(1, 0), { type: 'ImportFailed', data: { jobId: 'job-1', chunk: 1, reason: "10 of the file's 30 rows were lost before they were imported: upload the file again" } }]);
  });

  it('counts a chunk once: recorded again, it changes nothing', () => {
    spec.given([started(), chunkCompleted(1, 10)]).when(complete(1, 10)).then([]);
  });

  it('changes nothing once the job has completed', () => {
    spec.given([started(1), chunkCompleted(0, 10), completed(10, 0)]).when(complete(0, 10)).then([]);
  });

  it('keeps the first errors of a chunk by line, at most 100', () => {
    const errors = Array.from({ length: 150 }, (_, index) => ({ line: 200 - index, message: 'quantity must not be negative' }));
    const [recorded] = decidedEvents(completeImportChunk.decide(complete(0, 0, 150, errors), [started()].reduce(completeImportChunk.evolve, completeImportChunk.initialState())));
    expect(recorded.type === 'ImportChunkCompleted' && recorded.data.errors).toEqual(
      Array.from({ length: MAX_REPORTED_ERRORS }, (_, index) => ({ line: 51 + index, message: 'quantity must not be negative' })),
    );
  });

  it('refuses a chunk the job does not have, and a job never started', () => {
    spec.given([started()]).when(complete(3, 1)).thenThrows(BusinessRuleViolation, /chunks 0-2, not 3/);
    spec.given([]).when(complete(0, 1)).thenThrows(ImportNotFound);
  });
});
