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

  /** Waits for room, then tracks the publish; throws the first failure of any publish so far. */
  async add(position: bigint, publish: () => Promise<unknown>): Promise<void> {
    while (this.inFlight.length >= this.size && this.failure === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure !== undefined) throw this.failure;
    const entry = { position, settled: false };
    this.inFlight.push(entry);
    publish().then(
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
