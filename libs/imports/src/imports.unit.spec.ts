import type { RecordedEvent } from '@tidings/core';
import { recordedStreams } from '@tidings/testing';
import { evolveImportJobRow, type ImportJobRow } from './import-jobs.projection';
import { firstErrors, type ImportEvent } from './imports';
import { chunkCompleted, completed, started } from './imports.fixture';

describe('import errors', () => {
  it('keeps the 100 of the lowest lines, in line order', () => {
    const early = Array.from({ length: 60 }, (_, index) => ({ line: 1_000 + index, message: 'late' }));
    const late = Array.from({ length: 60 }, (_, index) => ({ line: 10 + index, message: 'early' }));
    const kept = firstErrors(early, late);
    expect(kept).toHaveLength(100);
    expect(kept[0]).toEqual({ line: 10, message: 'early' });
    expect(kept[99]).toEqual({ line: 1_039, message: 'late' });
  });
});

describe('the import jobs read model', () => {
  const job = recordedStreams()('import-job-1');
  const history = [started(2), chunkCompleted(1, 8, 2, [{ line: 15, message: 'name is missing' }]), chunkCompleted(0, 10), completed(18, 2)].map((event) => job(event) as RecordedEvent<ImportEvent>);
  const fold = (events: RecordedEvent<ImportEvent>[]) => events.reduce<ImportJobRow | undefined>(evolveImportJobRow, undefined);

  it('counts chunks, rows and errors until the job completes', () => {
    expect(fold(history)).toMatchObject({ status: 'completed', totalRows: 20, chunksTotal: 2, chunksDone: 2, imported: 18, failed: 2, errors: [{ line: 15, message: 'name is missing' }], version: 3 });
  });

  it('applies a redelivered event once', () => {
    expect(fold([history[0], history[1], history[1], history[2]])).toMatchObject({ chunksDone: 2, imported: 18, failed: 2 });
  });
});
