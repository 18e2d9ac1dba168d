type InFlight = { position: bigint; sentAt: number; settled: boolean };

/**
 * Publishes in flight, oldest first, each known by the ticket `send` gave it. `acknowledged` is
 * the highest position below which every publish was acknowledged: where to resume after an
 * error. At most `size` are in flight.
 */
export class PublishWindow {
  private readonly inFlight: InFlight[] = [];
  private firstTicket = 0;
  private wake: () => void = () => undefined;
  failure: unknown;

  constructor(
    private readonly size: number,
    public acknowledged: bigint,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  get full(): boolean {
    return this.inFlight.length >= this.size;
  }

  /**
   * Resolves once at most half the window is in flight, so that the next publishes leave
   * together rather than one per acknowledgement; throws the first failure of any publish.
   */
  async room(): Promise<void> {
    while (this.inFlight.length > this.size / 2 && this.failure === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  /** Records a publish about to be sent; its ticket names it in `settle`. Throws once a publish has failed. */
  send(position: bigint, now = Date.now()): number {
    if (this.failure !== undefined) throw this.failure;
    this.inFlight.push({ position, sentAt: now, settled: false });
    return this.firstTicket + this.inFlight.length - 1;
  }

  /** An acknowledgement arrived; unknown or repeated tickets are ignored. */
  settle(ticket: number): void {
    const entry = this.inFlight[ticket - this.firstTicket];
    if (!entry || entry.settled) return;
    entry.settled = true;
    while (this.inFlight[0]?.settled) {
      this.acknowledged = (this.inFlight.shift() as InFlight).position;
      this.firstTicket++;
    }
    this.wake();
  }

  /** The first failure is kept and reported; nothing is acknowledged past it. */
  fail(error: unknown): void {
    if (this.failure === undefined) {
      this.failure = error;
      this.onFailure(error);
    }
    this.wake();
  }

  /** Milliseconds the oldest publish in flight has waited for its acknowledgement. */
  oldestWait(now = Date.now()): number {
    return this.inFlight.length === 0 ? 0 : now - this.inFlight[0].sentAt;
  }

  /** Resolves once every publish has settled, or throws the failure that stopped them. */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0 && this.failure === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure !== undefined) throw this.failure;
  }
}
