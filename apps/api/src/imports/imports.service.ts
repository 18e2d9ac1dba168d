import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { z } from 'zod';
import type { CommandMetadata } from '@tidings/core';
import {
  chunkWorkOf,
  findImportJob,
  IMPORT_WORK_QUEUE,
  importChannelOf,
  ImportFileTooLarge,
  importFileRows,
  importJobsProjection,
  importStreamId,
  stageUpload,
  startImport,
  type ImportJobView,
} from '@tidings/imports';
import { publishWork, workQueueOf, type EventTopology } from '@tidings/messaging';
import { NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import type { Settings } from '@tidings/settings';
import { Commands } from '../http/command-context';
import { parseInput, uuidId } from '../http/parse-input';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';
import { importChannelId } from '../live/channels';

const JOB_ID = uuidId('a job id as POST /imports/products answered it');
const CHANNEL_ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'X-Channel-Id is 1-64 characters of [A-Za-z0-9_-]').transform(importChannelId);
const jobQuery = z.strictObject({ minPosition: z.string().optional() });

/** Rows read from the upload and stored at a time: all of the file that is in memory at once. */
const STAGED_BATCH_ROWS = 2_000;

export type ImportUpload = Readonly<{ body: unknown; contentLength?: string; channelId?: string }>;

/**
 * CSV product imports (ARCHITECTURE §6). The upload is read as it streams in and stored
 * (`import_rows`); only once the whole file has been read is the job started (`ImportStarted`
 * on `import-<jobId>`) and each chunk published to the work queue, and the caller answered —
 * before any row is imported. Should this process die between the start and the publish, the
 * sagas role publishes the chunks again from the `ImportStarted` it reads (import-work.consumer.ts).
 * The job id is the command id, so a retry under the same Idempotency-Key is the same job.
 */
@Injectable()
export class Imports {
  /** Only its name and categories, for read-your-writes. */
  private readonly projection = importJobsProjection();

  constructor(
    @Inject(Commands) private readonly commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async start({ body, contentLength, channelId }: ImportUpload, metadata: CommandMetadata) {
    const { chunkRows, maxBytes, ackWaitMs } = this.settings.imports;
    const jobId = metadata.commandId;
    const channel = channelId === undefined ? importChannelOf(jobId) : importChannelOf(parseInput(CHANNEL_ID, channelId, 'headers'));
    if (!isStream(body)) throw problems.unsupportedMediaType('send the file as text/csv');
    if (Number(contentLength) > maxBytes) throw new ImportFileTooLarge(maxBytes);
    const totalRows = await stageUpload(this.readModels.pool, jobId, importFileRows(body, { maxBytes, batchRows: STAGED_BATCH_ROWS }), chunkRows);
    const started = await this.commands.run(startImport, importStreamId(jobId), { type: 'StartImport', data: { jobId, channelId: channel, totalRows, chunkRows }, metadata });
    const chunks = started.state.status === 'none' ? 0 : started.state.chunksTotal;
    await publishWork(this.nats, workQueueOf(this.topology, IMPORT_WORK_QUEUE, ackWaitMs), chunkWorkOf(jobId, chunks, metadata.actor));
    return { jobId, channelId: channel, position: started.position };
  }

  async job(id: string, query: unknown): Promise<ImportJobView> {
    const { minPosition } = parseInput(jobQuery, query, 'query');
    const jobId = parseInput(JOB_ID, id, 'params');
    await this.readModels.awaitPosition(this.projection, minPosition);
    const job = await findImportJob(this.readModels.pool, jobId);
    if (!job) throw problems.notFound(`no import ${jobId}`);
    return job;
  }
}

const isStream = (body: unknown): body is Readable => typeof (body as Readable | undefined)?.pipe === 'function';
