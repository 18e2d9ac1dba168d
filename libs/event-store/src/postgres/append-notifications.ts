import { Client, type ClientConfig } from 'pg';

const CHANNEL = 'tidings_events';
const RECONNECT_DELAY_MS = 1_000;

/**
 * One LISTEN connection per store, shared by every subscriber: a batch commit sends one
 * NOTIFY, and each subscriber waits for the next one or for its poll interval, whichever
 * comes first — polling keeps subscribers moving when the connection is down or an append
 * rolled back.
 */
export class AppendNotifications {
  private client?: Client;
  private generation = 0;
  private waiters = new Set<() => void>();
  private closed = false;
  private connecting?: Promise<void>;

  constructor(private readonly config: ClientConfig) {}

  /** A token for `waitAfter`: take it before reading, so a NOTIFY during the read is not lost. */
  current(): number {
    void this.ensureListening();
    return this.generation;
  }

  /** Resolves when an append committed after `seen` was taken, on timeout, or on close. */
  waitAfter(seen: number, timeoutMs: number): Promise<void> {
    if (this.generation !== seen || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeAll();
    await this.connecting?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.closed || this.client || this.connecting) return this.connecting ?? Promise.resolve();
    this.connecting = this.listen().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async listen(): Promise<void> {
    const client = new Client(this.config);
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.wakeAll();
      if (!this.closed) setTimeout(() => void this.ensureListening(), RECONNECT_DELAY_MS).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.wakeAll());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
    } catch {
      await client.end().catch(() => undefined);
      if (!this.closed) setTimeout(() => void this.ensureListening(), RECONNECT_DELAY_MS).unref();
    }
  }

  private wakeAll(): void {
    this.generation++;
    for (const wake of [...this.waiters]) wake();
  }
}
