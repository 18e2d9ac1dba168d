import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { systemClock } from '@tidings/core';
import { DATABASE, SETTINGS, startPeriodicJob, type PeriodicJob } from '@tidings/platform';
import type { Settings } from '@tidings/settings';
import { compactViewMinutes } from '@tidings/views';

/** Often enough that minute buckets never outlive their retention by more than this. */
const EVERY_MS = 10 * 60_000;
const FIRST_RUN_AFTER_MS = 60_000;

/**
 * The scheduled job of the views read model (ARCHITECTURE §6): folds minute buckets older than
 * TIDINGS_VIEWS_MINUTE_RETENTION into hours, a minute after start and every 10 minutes after that, in every projector
 * process (runs at once are safe: each minute row moves once).
 */
@Injectable()
export class ViewsCompaction implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('views-compaction');
  private job?: PeriodicJob;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(DATABASE) private readonly pool: Pool,
  ) {}

  onApplicationBootstrap(): void {
    // First after a minute: the projector creates the read model's tables as it starts.
    this.job = startPeriodicJob(() => this.compact(), { firstAfterMs: FIRST_RUN_AFTER_MS, everyMs: EVERY_MS });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }

  private async compact(): Promise<void> {
    const before = new Date(systemClock.now().getTime() - this.settings.views.minuteRetentionMs);
    try {
      const moved = await compactViewMinutes(this.pool, before);
      if (moved > 0) this.logger.log(`folded ${moved} minute buckets before ${before.toISOString()} into hours`);
    } catch (error) {
      this.logger.warn(`cannot compact view minutes now (next try in ${EVERY_MS / 60_000} min): ${(error as Error).message}`);
    }
  }
}
