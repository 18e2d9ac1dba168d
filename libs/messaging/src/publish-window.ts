/**
 * Publishes in flight, oldest first. `acknowledged` is the highest position below which every
 * publish was acknowledged: where to resume after an error. At most `size` are in flight.
 */
export class PublishWindow {
  private readonly inFlight: { position: bigint; settled: boolean }[] = [];
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

  /** Tracks a publish that has been sent; synchronous, so a burst of publishes is written at once. */
  track(position: bigint, acknowledgement: Promise<unknown>): void {
    if (this.failure !== undefined) {
      // Sent after an earlier one failed: its outcome no longer matters, but must not go unhandled.
      acknowledgement.catch(() => undefined);
      throw this.failure;
    }
    const entry = { position, settled: false };
    this.inFlight.push(entry);
    acknowledgement.then(
      () => {
        entry.settled = true;
        while (this.inFlight[0]?.settled) this.acknowledged = (this.inFlight.shift() as { position: bigint }).position;
        this.wake();
      },
      (error: unknown) => {
        if (this.failure === undefined) {
          this.failure = error;
          this.onFailure(error);
        }
        this.wake();
      },
    );
  }

  /** Resolves once every publish has settled (or one failed and the rest had their chance). */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0 && this.failure === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}
