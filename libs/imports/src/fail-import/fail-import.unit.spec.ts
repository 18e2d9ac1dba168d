import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ImportNotFound } from '../errors';
import { chunkCompleted, completed, started } from '../imports.fixture';
import { failImport, type FailImport } from './fail-import';

const fail: FailImport = { type: 'FailImport', data: { jobId: 'job-1', chunk: 1, reason: 'database unreachable' }, metadata: testCommandMetadata() };

describe('FailImport', () => {
  const spec = deciderSpec(failImport);

  it('ends a running job as failed, naming the chunk and why', () => {
    spec.given([started(), chunkCompleted(0, 10)]).when(fail).then([{ type: 'ImportFailed', data: fail.data }]);
  });

  it('leaves a job that has ended as it is', () => {
    spec.given([started(1), chunkCompleted(0, 10), completed(10, 0)]).when(fail).then([]);
  });

  it('refuses a job never started', () => {
    spec.given([]).when(fail).thenThrows(ImportNotFound);
  });
});
