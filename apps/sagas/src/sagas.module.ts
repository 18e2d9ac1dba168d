import { Inject, Injectable, Logger, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import { CheckoutDriver, DEFAULT_CHECKOUT_POLICY, isSettled, orderStatusOnceSettled } from '@tidings/checkout';
import { systemClock, type HandleCommand } from '@tidings/core';
import { ConsumerRuntime, publishNotification, uniqueMemberName, type EventTopology } from '@tidings/messaging';
import { SimulatedPaymentGateway } from '@tidings/payments';
import { COMMANDS, DATABASE, NATS, SETTINGS, TOPOLOGY } from '@tidings/platform';
import type { Settings } from '@tidings/settings';
import { CheckoutScheduler } from './checkout-scheduler';
import { CheckoutTrigger } from './checkout-trigger.consumer';
import { ImportWorkers } from './import-workers';
import { UploadSweeper } from './upload-sweeper';

/** Sagas driven at once by one process. */
const CONCURRENCY = 64;
const POLL_MS = 250;

/**
 * The sagas role: the `saga.checkout` consumer group (placed orders and cancellations make
 * sagas due) and the scheduler that drives due sagas against the simulated payment gateway.
 */
@Injectable()
export class SagasService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('sagas');
  private readonly member = uniqueMemberName();
  private runtime?: ConsumerRuntime;
  private scheduler?: CheckoutScheduler;

  constructor(
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
    @Inject(COMMANDS) private readonly handle: HandleCommand,
  ) {}

  onApplicationBootstrap(): void {
    const { paymentTimeoutMs, gatewayLatencyMs } = this.settings.checkout;
    const driver = new CheckoutDriver({
      handle: this.handle,
      gateway: new SimulatedPaymentGateway(this.pool, { latencyMs: gatewayLatencyMs }),
      clock: systemClock,
      policy: { ...DEFAULT_CHECKOUT_POLICY, paymentTimeoutMs },
    });
    const scheduler = new CheckoutScheduler(this.pool, driver, {
      concurrency: CONCURRENCY,
      // A drive may wait for the gateway up to the payment timeout.
      leaseMs: paymentTimeoutMs + 30_000,
      pollMs: POLL_MS,
      warn: (line) => this.logger.warn(line),
      // Watchers hear a checkout's end from the drive that found its row not yet ended: once, and again only if the process died before the row said so.
      onSettled: ({ orderId, settled }, outcome) => {
        if (!settled && isSettled(outcome.status)) {
          const data = { orderId, status: orderStatusOnceSettled(outcome.status), saga: outcome.status };
          publishNotification(this.nats, this.topology, { channel: `order:${orderId}`, type: 'status', data });
        }
      },
    });
    this.scheduler = scheduler;
    this.runtime = new ConsumerRuntime({
      nats: this.nats,
      pool: this.pool,
      topology: this.topology,
      group: new CheckoutTrigger(this.pool, () => scheduler.wake()),
      member: this.member,
      leaseTtlMs: this.settings.leaseTtlMs,
      warn: (line) => this.logger.warn(line),
    });
    this.runtime.start();
    scheduler.start();
    this.logger.log(`running checkout sagas as ${this.member}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runtime?.stop();
    const drives = this.scheduler?.drivesInFlight ?? 0;
    if (drives > 0) {
      const waitSeconds = this.settings.checkout.paymentTimeoutMs / 1000;
      this.logger.log(`stopping: ${drives} checkout drive(s) in flight finish first (one waiting on the payment gateway may take up to ${waitSeconds} s)`);
    }
    await this.scheduler?.stop();
  }
}

@Module({ providers: [SagasService, ImportWorkers, UploadSweeper] })
export class SagasModule {}
