import type { Consumer, ConsumerMessages, JsMsg } from 'nats';
import type { RecordedEvent } from '@tidings/core';
import { decodeEvent, MalformedEventMessage } from './event-message';

/**
 * How deliveries are gathered into batches: up to `maxEvents`, waiting at most `lingerMs` after
 * the first for more (default 0: whatever has arrived), and, while waiting, at most `quietMs`
 * after the last arrival. `trickle`: a batch still under `underEvents` after `lingerMs` of its
 * own is a steady trickle's, never quiet but never big, and goes then.
 */
export type Batching = Readonly<{ maxEvents: number; lingerMs?: number; quietMs?: number; trickle?: Readonly<{ lingerMs: number; underEvents: number }> }>;

/** Up to 500 events, of whatever has arrived. */
export const DEFAULT_BATCHING: Batching = { maxEvents: 500 };

/** A delivered message and its event, or why it holds none. */
export type Delivery = Readonly<{ message: JsMsg; event: RecordedEvent | MalformedEventMessage }>;

/**
 * What a durable pull consumer delivers, collected as it arrives (nats.js keeps pulls open in
 * the background) and taken in batches of whatever has come: a lone event is applied at once,
 * a flood in batches, and the next batch arrives while the current one is applied. Each
 * message is decoded as it arrives, so a long batch is not decoded all at once when it closes.
 * Ends with an error when the consumer or its stream disappears.
 */
export class Deliveries {
  private received: Delivery[] = [];
  private lastArrival = 0;
  /** How many received messages wake a waiting `take`. */
  private wakeAtCount = 1;
  private ended?: Error;
  private wake: () => void = () => undefined;
  private messages?: ConsumerMessages;

  private constructor(private readonly stop: AbortSignal) {
    stop.addEventListener('abort', () => this.wake(), { once: true });
  }

  static async start(consumer: Consumer, maxPending: number, stop: AbortSignal): Promise<Deliveries> {
    const deliveries = new Deliveries(stop);
    deliveries.messages = await consumer.consume({
      max_messages: maxPending,
      // A pull lives 30 s: nats-server before 2.9.16 (Debian bookworm ships 2.9.10) may drop an
      // expiring pull without the 408 that tells nats.js to pull again, when a message arrives
      // as it expires; the consumer then gets nothing until two heartbeats are missed (2 s).
      // With pulls renewed every 2 s that stalled a partition for 2 s a few times a minute.
      expires: 30_000,
      // Heartbeats every second whatever the pull's life: a lost pull, or a consumer or stream
      // deleted from under us, is noticed within 2 s (missed heartbeats make nats.js pull again
      // or look the consumer up), not 60.
      idle_heartbeat: 1_000,
      abort_on_missing_resource: true,
      callback: (message) => deliveries.arrived(message),
    });
    void deliveries.messages.closed().then((error) => deliveries.end(error instanceof Error ? error : new Error('the consumer stopped')));
    return deliveries;
  }

  /**
   * Up to `maxEvents` delivered messages, oldest first; waits for one, then up to `lingerMs` more
   * for the batch to fill (a bigger batch is worth a wait to a projection that writes each key
   * once per batch) — but no longer than `quietMs` after the last arrival: a flood makes long
   * batches, and its last one goes as soon as the flood stops. Empty only once stopped.
   */
  async take({ maxEvents, lingerMs = 0, quietMs = Infinity, trickle }: Batching): Promise<Delivery[]> {
    this.wakeAtCount = 1;
    while (this.received.length === 0 && this.running()) await this.sleep(Infinity);
    // While lingering only a full batch wakes us: a flood's every arrival would otherwise set a timer.
    this.wakeAtCount = maxEvents;
    const deadline = performance.now() + lingerMs;
    const trickleDeadline = trickle ? performance.now() + trickle.lingerMs : Infinity;
    for (;;) {
      if (this.received.length >= maxEvents || !this.running() || performance.now() >= deadline) break;
      const trickling = trickle !== undefined && this.received.length < trickle.underEvents;
      if (trickling && performance.now() >= trickleDeadline) break;
      const quietFrom = this.lastArrival + quietMs;
      if (performance.now() < quietFrom) await this.sleep(Math.min(deadline, quietFrom, trickling ? trickleDeadline : Infinity) - performance.now());
      else if (!(await this.arrivedOnceSocketsRead())) break;
    }
    if (this.received.length === 0 && this.ended !== undefined && !this.stop.aborted) throw this.ended;
    return this.received.splice(0, maxEvents);
  }

  /**
   * Whether messages arrived once the sockets were read: a quiet that is over when the thread
   * comes back from other work (another partition's batch, a collection) may only be messages
   * not read yet. Seen in the views bench: every partition closed its batch on "quiet" at the
   * same moment, in the middle of a flood, and wrote its keys several times as often as the
   * linger allows. Two turns of `setImmediate` hold a poll phase, where sockets are read,
   * between them, from whichever phase this is called (a timer's, or an I/O callback's).
   */
  private async arrivedOnceSocketsRead(): Promise<boolean> {
    const before = this.received.length;
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    return this.received.length > before;
  }

  async close(): Promise<void> {
    this.end(new Error('the consumer was closed'));
    await this.messages?.close().catch(() => undefined);
  }

  private arrived(message: JsMsg): void {
    this.received.push({ message, event: decoded(message) });
    this.lastArrival = performance.now();
    if (this.received.length >= this.wakeAtCount) this.wake();
  }

  private running(): boolean {
    return this.ended === undefined && !this.stop.aborted;
  }

  /** Until `ms` pass (none for Infinity) or something wakes us. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === Infinity ? undefined : setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private end(error: Error): void {
    this.ended ??= error;
    this.wake();
  }
}

/** Runs in nats.js's message callback, where nothing may throw. */
function decoded(message: JsMsg): RecordedEvent | MalformedEventMessage {
  try {
    return decodeEvent(message.data);
  } catch (error) {
    return error instanceof MalformedEventMessage ? error : new MalformedEventMessage(String(error));
  }
}
