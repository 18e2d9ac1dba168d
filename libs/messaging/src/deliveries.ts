import type { Consumer, ConsumerMessages, JsMsg } from 'nats';

/**
 * What a durable pull consumer delivers, collected as it arrives (nats.js keeps pulls open in
 * the background) and taken in batches of whatever has come: a lone event is applied at once,
 * a flood in batches, and the next batch arrives while the current one is applied. Ends with
 * an error when the consumer or its stream disappears.
 */
export class Deliveries {
  private received: JsMsg[] = [];
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
      // Pulls renewed every 2 s, heartbeats every 1 s: a consumer or stream deleted from under
      // us is noticed within seconds (missed heartbeats make nats.js look it up), not 30.
      expires: 2_000,
      abort_on_missing_resource: true,
      callback: (message) => deliveries.arrived(message),
    });
    void deliveries.messages.closed().then((error) => deliveries.end(error instanceof Error ? error : new Error('the consumer stopped')));
    return deliveries;
  }

  /**
   * Up to `max` delivered messages, oldest first; waits for one, then up to `lingerMs` more for
   * the batch to fill (a bigger batch is worth a short wait to a projection that writes each key
   * once per batch). Empty only once stopped.
   */
  async take(max: number, lingerMs = 0): Promise<JsMsg[]> {
    while (this.received.length === 0 && this.ended === undefined && !this.stop.aborted) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (lingerMs > 0 && this.received.length < max) {
      const deadline = performance.now() + lingerMs;
      while (this.received.length < max && this.ended === undefined && !this.stop.aborted && performance.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - performance.now());
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
    if (this.received.length === 0 && this.ended !== undefined && !this.stop.aborted) throw this.ended;
    return this.received.splice(0, max);
  }

  async close(): Promise<void> {
    this.end(new Error('the consumer was closed'));
    await this.messages?.close().catch(() => undefined);
  }

  private arrived(message: JsMsg): void {
    this.received.push(message);
    this.wake();
  }

  private end(error: Error): void {
    this.ended ??= error;
    this.wake();
  }
}
