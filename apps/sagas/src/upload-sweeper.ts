import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { dropAbandonedUploads } from '@tidings/imports';
import { DATABASE, EVENT_STORE, startPeriodicJob, type PeriodicJob } from '@tidings/platform';

const EVERY_MS = 60 * 60_000;
const FIRST_RUN_AFTER_MS = 60_000;
/**
 * How long an upload of a job that never started is kept since its last row was stored: a file
 * streams in within minutes, and a retry of the cut-off request under its Idempotency-Key,
 * which would store the same rows again and start the job, has a day to come.
 */
const ABANDONED_AFTER_MS = 24 * 60 * 60_000;

/**
 * Drops stored CSV uploads that no job will read (dropAbandonedUploads), a minute after start and
 * every hour after that, in every sagas process (runs at once are safe: a job's rows are dropped
 * whole, and dropping twice drops nothing more).
 */
@Injectable()
export class UploadSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('imports');
  private job?: PeriodicJob;

  constructor(
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  onApplicationBootstrap(): void {
    this.job = startPeriodicJob(() => this.sweep(), { firstAfterMs: FIRST_RUN_AFTER_MS, everyMs: EVERY_MS });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }

  private async sweep(): Promise<void> {
    try {
      const dropped = await dropAbandonedUploads(this.pool, this.store, ABANDONED_AFTER_MS, (line) => this.logger.warn(line));
      if (dropped.length > 0) this.logger.warn(`dropped the stored uploads of ${dropped.length} import jobs that never started or had ended: ${dropped.join(', ')}`);
    } catch (error) {
      this.logger.warn(`cannot look for abandoned uploads now (next try in ${EVERY_MS / 60_000} min): ${(error as Error).message}`);
    }
  }
}
