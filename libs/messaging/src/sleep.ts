import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`, or less when the signal aborts; never rejects. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).then(
    () => undefined,
    () => undefined,
  );
