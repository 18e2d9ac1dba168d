// Global setup runs outside Jest's module map: resolve the @tidings/* aliases from tsconfig.
import 'tsconfig-paths/register';
import { createTemplateDatabase, newRunId } from '@tidings/testing';

/** One run, one id: every database and JetStream name the run creates carries it. */
export default async function globalSetup(): Promise<void> {
  const runId = newRunId();
  process.env.TIDINGS_TEST_RUN = runId;
  process.env.TIDINGS_TEST_TEMPLATE = await createTemplateDatabase(runId);
}
