import { dropRunDatabases } from '@tidings/testing';

export default async function globalTeardown(): Promise<void> {
  const runId = process.env.TIDINGS_TEST_RUN;
  if (runId) await dropRunDatabases(runId);
}
