/**
 * A store's calls in flight. Closing refuses new calls and waits for these to settle before the
 * connections go: an append accepted before a graceful shutdown is carried out, not cut off (the
 * pool refused a group commit's queued batch; EventStoreDB's client cancels its calls).
 */
export class CallsInFlight {
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly storeName: string) {}

  run<T>(call: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`the ${this.storeName} event store is closed`));
    const running = call();
    this.running.add(running);
    const forget = () => void this.running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Refuses new calls; settles once every call in flight has. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.running);
  }
}
