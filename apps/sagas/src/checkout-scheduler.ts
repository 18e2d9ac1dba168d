import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'pg';
import { claimDueCheckouts, deferCheckout, recoverClaim, settleCheckouts, type CheckoutDriver, type ClaimedCheckout, type DriveOutcome, type SettledCheckout } from '@tidings/checkout';
import { Coalescer } from '@tidings/core';

/** Tries at a bookkeeping statement after a failure (100 ms, 400 ms, 1.6 s apart), before its sagas are left to their claim's lease. */
const BOOKKEEPING_ATTEMPTS = 4;

/**
 * Bookkeeping of claims: what failed a drive or a claim (the database connection lost, say) may
 * fail it too, so it is tried again a few times; else its sagas would wait until their claim's
 * lease ends (the payment timeout and 30 s more) to be driven again.
 */
async function withRetries<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= BOOKKEEPING_ATTEMPTS) throw error;
      await delay(100 * 4 ** (attempt - 1));
    }
  }
}

export type CheckoutSchedulerOptions = Readonly<{
  /** Sagas driven at once by this process. */
  concurrency: number;
  /** How long a claimed saga stays this process's before another may take it: longer than any drive. */
  leaseMs: number;
  /** How often due sagas are looked for when nothing wakes the scheduler. */
  pollMs: number;
  /** Told what went wrong and what happens next: a failed claim or drive, a retry that could not be recorded. */
  warn: (line: string) => void;
  /** Told each outcome, with the claim it was driven under (e.g. to notify the order's watchers of an end its row did not show yet). */
  onSettled?: (claim: ClaimedCheckout, outcome: DriveOutcome) => void;
}>;

/**
 * Drives the sagas that are due (ARCHITECTURE §6): claims them with FOR UPDATE SKIP LOCKED —
 * so any number of sagas processes share the work — drives each, and records when it is due
 * again: a retry's backoff, a payment's deadline, or never. A process killed mid-drive leaves
 * its claims due again when their lease ends.
 */
export class CheckoutScheduler {
  private readonly driving = new Map<string, Promise<void>>();
  private stopped = false;
  /** Set by a wake-up that came while the loop was not waiting: it looks again at once. */
  private woken = false;
  private resolveWait?: () => void;
  private loop?: Promise<void>;
  /** Drives that end together are settled in one statement. */
  private readonly settles: Coalescer<SettledCheckout, void>;

  constructor(
    private readonly pool: Pool,
    private readonly driver: CheckoutDriver,
    private readonly options: CheckoutSchedulerOptions,
  ) {
    this.settles = new Coalescer(async (settled) => {
      await settleCheckouts(pool, settled);
      for (const drive of settled) drive.resolve();
    }, { maxInFlight: 1 });
  }

  start(): void {
    this.loop = this.run();
  }

  /** Looks for due sagas now (a new order, a nudge) rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.resolveWait?.();
  }

  /** Drives running now: `stop` waits for them. */
  get drivesInFlight(): number {
    return this.driving.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await Promise.all(this.driving.values());
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.options.concurrency - this.driving.size;
      let claimed = 0;
      if (free > 0) {
        const claims = await this.claim(free);
        claimed = claims.length;
        for (const claim of claims) this.drive(claim);
      }
      if ((claimed > 0 && claimed === free) || this.woken) {
        this.woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollMs);
        this.resolveWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.resolveWait = undefined;
      this.woken = false;
    }
  }

  /** Due sagas, up to `limit`; those of a claim whose answer was lost (it may have been carried out) are found by its id. */
  private async claim(limit: number): Promise<ClaimedCheckout[]> {
    const claim = randomUUID();
    const { leaseMs, warn } = this.options;
    try {
      return await claimDueCheckouts(this.pool, limit, leaseMs, claim);
    } catch (error) {
      warn(`checkout scheduler: claiming due sagas failed: ${(error as Error).message}`);
      return withRetries(() => recoverClaim(this.pool, leaseMs, claim)).catch((lost: unknown) => {
        warn(`checkout scheduler: cannot tell what a failed claim took (${(lost as Error).message}); its sagas are due again when its lease ends`);
        return [];
      });
    }
  }

  /** One drive per saga at a time in this process; a saga claimed again while driven is driven again after. */
  private drive(claim: ClaimedCheckout): void {
    const previous = this.driving.get(claim.orderId) ?? Promise.resolve();
    const next = previous.then(() => this.driveOnce(claim));
    this.driving.set(claim.orderId, next);
    void next.finally(() => {
      if (this.driving.get(claim.orderId) === next) this.driving.delete(claim.orderId);
      this.wake();
    });
  }

  private async driveOnce(claim: ClaimedCheckout): Promise<void> {
    try {
      const outcome = await this.driver.drive(claim.orderId, { isNew: claim.isNew });
      await this.settles.submit({ claim, outcome });
      this.options.onSettled?.(claim, outcome);
    } catch (error) {
      const reason = (error as Error).message ?? String(error);
      this.options.warn(`checkout ${claim.orderId}: drive failed, retrying later: ${reason}`);
      await withRetries(() => deferCheckout(this.pool, claim, reason)).catch((lost: unknown) => {
        this.options.warn(`checkout ${claim.orderId}: cannot record its retry (${(lost as Error).message}); it is due again when its claim's lease ends`);
      });
    }
  }
}
