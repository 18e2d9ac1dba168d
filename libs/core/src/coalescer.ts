/** A caller's request with the settlement of its promise: whoever serves the batch settles each one. */
export type Waiting<Request, Answer> = Request & Readonly<{ resolve: (answer: Answer) => void; reject: (error: unknown) => void }>;

/** Starts a batch: the returned rule says, request by request, whether one more joins it. */
export type BatchRule<Request> = () => (request: Request) => boolean;

export type CoalescerOptions<Request> = Readonly<{
  /** Batches being served at once: while one is, the next one forms. */
  maxInFlight: number;
  /** Which waiting requests join a batch; the first always does. Unlimited when not given. */
  batchRule?: BatchRule<Request>;
}>;

/**
 * Requests that arrive while batches are being served wait and leave together in the next one,
 * in arrival order; each caller still gets its own answer. Under load a batch grows by itself;
 * alone, a request leaves on the next turn of the event loop. The store's group commit, the
 * consumers' joint batches and the sagas' settles are all this.
 */
export class Coalescer<Request extends object, Answer> {
  private queue: Waiting<Request, Answer>[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  constructor(
    private readonly serve: (batch: Waiting<Request, Answer>[]) => Promise<void>,
    private readonly options: CoalescerOptions<Request>,
  ) {}

  submit(request: Request): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Flushes on the next turn of the event loop, not at once: callers woken by the previous
   * batch submit again in the same turn, and should leave together rather than one by one.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.takeBatch();
      this.inFlight++;
      void this.serve(batch)
        .catch((error: unknown) => {
          for (const request of batch) request.reject(error);
        })
        .finally(() => {
          this.inFlight--;
          this.scheduleFlush();
        });
    }
  }

  /** One pass over the queue, which can hold thousands of requests under load. */
  private takeBatch(): Waiting<Request, Answer>[] {
    const joins = this.options.batchRule?.() ?? (() => true);
    const batch: Waiting<Request, Answer>[] = [];
    const waiting: Waiting<Request, Answer>[] = [];
    for (const request of this.queue) {
      if (joins(request) || batch.length === 0) batch.push(request);
      else waiting.push(request);
    }
    this.queue = waiting;
    return batch;
  }
}
