// Global setup runs outside Jest's module map: resolve the @tidings/* aliases from tsconfig.
import 'tsconfig-paths/register';
import { deleteRunStreams, dropRunDatabases } from '@tidings/testing';

export default async function globalTeardown(): Promise<void> {
  const runId = process.env.TIDINGS_TEST_RUN;
  if (!runId) return;
  await dropRunDatabases(runId);
  await deleteRunStreams(runId);
}
