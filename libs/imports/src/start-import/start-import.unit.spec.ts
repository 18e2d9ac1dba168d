import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ImportAlreadyStarted } from '../errors';
import { started } from '../imports.fixture';
import { startImport, type StartImport } from './start-import';

const start = (totalRows: number, chunkRows = 10): StartImport => ({
  type: 'StartImport',
  data: { jobId: 'job-1', channelId: 'import:job-1', totalRows, chunkRows },
  metadata: testCommandMetadata(),
});

describe('StartImport', () => {
  const spec = deciderSpec(startImport);

  it('starts a job of one chunk per chunkRows rows, the last one partial', () => {
    spec.given([]).when(start(21)).then([{ type: 'ImportStarted', data: { jobId: 'job-1', channelId: 'import:job-1', totalRows: 21, chunksTotal: 3 } }]);
  });

  it('completes a file without rows at once', () => {
    spec
      .given([])
      .when(start(0))
      .then([
        { type: 'ImportStarted', data: { jobId: 'job-1', channelId: 'import:job-1', totalRows: 0, chunksTotal: 0 } },
        { type: 'ImportCompleted', data: { jobId: 'job-1', imported: 0, failed: 0 } },
      ]);
  });

  it('refuses to start a job twice', () => {
    spec.given([started()]).when(start(30)).thenThrows(ImportAlreadyStarted);
  });
});
