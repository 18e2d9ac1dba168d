import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import { systemClock, type EventStore, type HandleCommand, type RecordedEvent } from '@tidings/core';
import {
  abandonChunk,
  chunkWorkOfStart,
  importChunk,
  importJobsProjection,
  importStreamId,
  IMPORT_WORK_QUEUE,
  runningImportJobIds,
  stagedUploads,
  type ChunkWork,
  type ImportChunkDeps,
  type ImportStarted,
} from '@tidings/imports';
import { ConsumerRuntime, publishWork, sleep, WorkQueueWorker, workQueueOf, uniqueMemberName, type EventTopology, type WorkQueue } from '@tidings/messaging';
import { COMMANDS, DATABASE, EVENT_STORE, NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import { AppliedPositions, applierOf } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { ImportWorkTrigger } from './import-work.consumer';

/** Rows of a chunk imported at once: enough for group commit to gather their appends. */
const ROWS_AT_ONCE = 64;
/** A chunk failing this many deliveries (minutes, with the backoff) ends its job as failed. */
const MAX_DELIVERIES = 10;
/** What the import jobs read model applies: the jobs it shows running are those queued again. */
const IMPORT_JOBS = applierOf(importJobsProjection());

/**
 * The chunk workers of CSV imports (ARCHITECTURE §6): pull chunks from the imports work queue,
 * TIDINGS_IMPORT_WORKERS at a time, in every sagas process. A worker killed mid-chunk leaves
 * it unacknowledged: another gets it after TIDINGS_IMPORT_ACK_WAIT_MS and imports what is left.
 * Beside them runs the `saga.imports` consumer group, which queues the chunks of each started
 * job again from the event store (import-work.consumer.ts).
 */
@Injectable()
export class ImportWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('imports');
  private readonly member = uniqueMemberName();
  private readonly stopping = new AbortController();
  /** Queueing again the chunks of running jobs, for each queue met: beside the workers, until done. */
  private readonly requeues = new Set<Promise<void>>();
  private worker?: WorkQueueWorker<ChunkWork>;
  private trigger?: ConsumerRuntime;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
    @Inject(COMMANDS) private readonly handle: HandleCommand,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  onApplicationBootstrap(): void {
    const deps: ImportChunkDeps = {
      handle: this.handle,
      upload: stagedUploads(this.pool),
      clock: systemClock,
      concurrency: ROWS_AT_ONCE,
    };
    const queue = workQueueOf(this.topology, IMPORT_WORK_QUEUE, this.settings.imports.ackWaitMs);
    this.worker = new WorkQueueWorker<ChunkWork>({
      nats: this.nats,
      queue,
      concurrency: this.settings.imports.workers,
      handle: async (work) => {
        await importChunk(deps, work);
      },
      maxDeliveries: MAX_DELIVERIES,
      onNewQueue: async () => {
        const requeue = this.queueRunningJobsAgain(queue).finally(() => this.requeues.delete(requeue));
        this.requeues.add(requeue);
      },
      giveUp: async (work, reason) => {
        this.logger.warn(`import ${work.jobId}: chunk ${work.chunk} failed ${MAX_DELIVERIES} times (${reason}); the job fails`);
        await abandonChunk(deps, work, reason);
      },
      log: (line) => this.logger.log(line),
    });
    this.trigger = new ConsumerRuntime({
      nats: this.nats,
      pool: this.pool,
      topology: this.topology,
      group: new ImportWorkTrigger(this.pool, (work) => publishWork(this.nats, queue, work)),
      member: this.member,
      leaseTtlMs: this.settings.leaseTtlMs,
      warn: (line) => this.logger.warn(line),
    });
    this.worker.start();
    this.trigger.start();
    this.logger.log(`importing chunks, ${this.settings.imports.workers} at a time`);
  }

  /**
   * Queues again every chunk of the jobs still running, from the record of their start: the
   * queue this process has just met may have lost them (NATS's store directory lost while it
   * held them). Running is what the import jobs read model shows once it has applied every start
   * the store held when the queue was met, so a job whose start its projector has yet to apply
   * (behind, as it is while NATS recovers) is not missed. Until then, and through outages, it
   * tries again while the workers take what is queued meanwhile. A chunk queued twice within
   * JetStream's duplicate window is queued once; one imported twice changes nothing.
   */
  private async queueRunningJobsAgain(queue: WorkQueue): Promise<void> {
    const applied = new AppliedPositions(this.pool, this.store, this.topology);
    let metAt: bigint | undefined;
    let waitingTold = false;
    while (!this.stopping.signal.aborted) {
      try {
        metAt ??= await this.store.headPosition();
        if (await applied.waitUntilApplied(IMPORT_JOBS, metAt, 1_000)) return await this.queueJobsShownRunning(queue);
        if (!waitingTold) this.logger.log(`met the imports work queue: waiting for the import jobs read model to reach position ${metAt} before queueing again the chunks of the jobs running`);
        waitingTold = true;
      } catch (error) {
        this.logger.warn(`queueing again the chunks of the running import jobs: ${(error as Error).message}; trying again in a second`);
        await sleep(1_000, this.stopping.signal);
      }
    }
  }

  /** Queues the chunks of each job the read model shows running, from its `ImportStarted`. */
  private async queueJobsShownRunning(queue: WorkQueue): Promise<void> {
    const jobIds = await runningImportJobIds(this.pool);
    for (const jobId of jobIds) {
      const [started] = (await this.store.readStream(importStreamId(jobId))) as RecordedEvent<ImportStarted>[];
      if (started?.type !== 'ImportStarted') continue;
      await publishWork(this.nats, queue, chunkWorkOfStart(started));
    }
    if (jobIds.length) this.logger.warn(`met the imports work queue (at start, or created again since): queued again the chunks of ${jobIds.length} running jobs, which it may have lost`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.trigger?.stop(), this.worker?.stop(), ...this.requeues]);
  }
}
