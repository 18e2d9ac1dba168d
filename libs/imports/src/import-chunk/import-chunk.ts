import { v5 as uuidV5 } from 'uuid';
import { BusinessRuleViolation, type Clock, type CommandMetadata, type HandleCommand, type RecordedEvent } from '@tidings/core';
import { productStreamId } from '@tidings/inventory';
import { completeImportChunk } from '../complete-import-chunk/complete-import-chunk';
import { failImport } from '../fail-import/fail-import';
import type { FileRow } from '../import-file/import-file';
import { importProduct } from '../import-product/import-product';
import { checkRow, withoutDuplicates, type ProductRow } from '../import-row/import-row';
import { importStreamId, type ImportJob, type ImportStarted, type RowError } from '../imports';

/** One unit of an import's work queue. */
export type ChunkWork = Readonly<{ jobId: string; chunk: number; actor: string }>;

/** A job's chunks as work items, each under an id of its own: published twice, a chunk is queued once. */
export const chunkWorkOf = (jobId: string, chunksTotal: number, actor: string): { id: string; data: ChunkWork }[] =>
  Array.from({ length: chunksTotal }, (_, chunk) => ({ id: `${jobId}:${chunk}`, data: { jobId, chunk, actor } }));

/** The chunks of a job as its recorded start tells them, under the actor who started it. */
export const chunkWorkOfStart = ({ data, metadata }: RecordedEvent<ImportStarted>): { id: string; data: ChunkWork }[] => chunkWorkOf(data.jobId, data.chunksTotal, metadata.actor);

/** An upload as stored until its job has ended. */
export interface StagedUpload {
  rowsOf(jobId: string, chunk: number): Promise<FileRow[]>;
  /** For each sku, the first line of the file it is on. */
  firstLinesOf(jobId: string, skus: readonly string[]): Promise<Map<string, number>>;
  drop(jobId: string): Promise<void>;
}

export type ImportChunkDeps = Readonly<{
  handle: HandleCommand;
  upload: StagedUpload;
  clock: Clock;
  /** Rows imported at once: their appends leave together, group-committed. */
  concurrency: number;
}>;

/** Names the commands of an import: the same job, line or chunk always gets the same id. */
const IMPORT_NAMESPACE = '8f3c2a4e-6b1d-5e7f-9a0b-c4d5e6f70812';

/**
 * Processes one chunk of an import, as often as it is delivered: each row is imported by a
 * command whose id derives from the job and the line, and the command path applies a command
 * id once — so a chunk processed twice (a worker killed mid-chunk, a redelivery) imports its
 * rows once. Then the chunk's counts are recorded on the job's stream, also once; the chunk
 * that completes the job drops the stored upload. Returns the job as it now stands.
 */
export async function importChunk({ handle, upload, clock, concurrency }: ImportChunkDeps, { jobId, chunk, actor }: ChunkWork): Promise<ImportJob> {
  const metadata = commandMetadataOf(clock, jobId, actor);
  const checked = (await upload.rowsOf(jobId, chunk)).map(checkRow);
  const valid = checked.flatMap((row) => ('product' in row ? [row.product] : []));
  const { products, errors: duplicates } = withoutDuplicates(valid, await upload.firstLinesOf(jobId, valid.map((product) => product.sku)));
  const refused = (await eachAtMost(concurrency, products, (product) => importRow(handle, product, metadata(`line:${product.line}`)))).filter(
    (error): error is RowError => error !== undefined,
  );
  const errors = [...checked.flatMap((row) => ('error' in row ? [row.error] : [])), ...duplicates, ...refused];
  const recorded = await handle(completeImportChunk, importStreamId(jobId), {
    type: 'CompleteImportChunk',
    data: { jobId, chunk, imported: products.length - refused.length, failed: errors.length, errors },
    metadata: metadata(`chunk:${chunk}`),
  });
  if (recorded.state.status !== 'running') await upload.drop(jobId);
  return recorded.state;
}

/** Ends the job as failed because this chunk could not be processed however often it was tried, and drops its upload. */
export async function abandonChunk({ handle, upload, clock }: ImportChunkDeps, { jobId, chunk, actor }: ChunkWork, reason: string): Promise<void> {
  await handle(failImport, importStreamId(jobId), { type: 'FailImport', data: { jobId, chunk, reason }, metadata: commandMetadataOf(clock, jobId, actor)(`fail:${chunk}`) });
  await upload.drop(jobId);
}

const commandMetadataOf =
  (clock: Clock, jobId: string, actor: string) =>
  (name: string): CommandMetadata => ({ commandId: uuidV5(`${jobId}:${name}`, IMPORT_NAMESPACE), correlationId: jobId, actor, now: clock.now() });

/** A row the inventory refuses is the row's error; anything else fails the chunk, to be tried again. */
async function importRow(handle: HandleCommand, { line, ...data }: ProductRow, metadata: CommandMetadata): Promise<RowError | undefined> {
  try {
    await handle(importProduct, productStreamId(data.sku), { type: 'ImportProduct', data, metadata });
    return undefined;
  } catch (error) {
    if (error instanceof BusinessRuleViolation) return { line, message: error.message };
    throw error;
  }
}

/** `work` on every item, at most `limit` at once; results in the items' order. */
async function eachAtMost<T, R>(limit: number, items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]);
    }),
  );
  return results;
}
