import type { LoggerService } from '@nestjs/common';
import type { Settings } from '@tidings/settings';

/**
 * How long roles may take to stop gracefully before they are ended: 30 s, or longer when a
 * checkout drive may wait that long on the payment gateway (the payment timeout, and 10 s).
 */
const stopTimeoutMs = (settings: Settings) => Math.max(30_000, settings.checkout.paymentTimeoutMs + 10_000);

/**
 * Stops the roles (`stop`: batches finish, leases and the relay lock are given back); roles still
 * running after the stop timeout are ended (`end`), said at warn level, and the process's exit
 * code is 1: what they held is taken over once its time runs out, and the supervisor is told.
 */
export async function stopWithin(settings: Settings, logger: LoggerService, stop: () => Promise<void>, end: () => void): Promise<void> {
  const timeoutMs = stopTimeoutMs(settings);
  const timeout = setTimeout(() => {
    logger.warn(`roles still running after ${timeoutMs / 1000} s were ended before they had stopped`, 'tidings');
    process.exitCode = 1;
    end();
  }, timeoutMs).unref();
  try {
    await stop();
  } finally {
    clearTimeout(timeout);
  }
}

/**
 * SIGTERM / SIGINT stop the roles as `stopAll` does, once however many signals come, logged when
 * asked and when done; a stop that fails is said, and the exit code is 1.
 */
export function stopOnSignals(logger: LoggerService, stopAll: () => Promise<void>): void {
  let stopping: Promise<void> | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: stopping every role`, 'tidings');
      if (stopping) return;
      stopping = stopAll();
      stopping.then(
        () => logger.log('every role has stopped', 'tidings'),
        (error: unknown) => {
          logger.error(`the roles did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`, undefined, 'tidings');
          process.exitCode = 1;
        },
      );
    });
  }
}
