import { AckPolicy, RetentionPolicy, StorageType, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import type { EventTopology } from './event-topology';
import { CONSUMER_NOT_FOUND, isJetStreamError, STREAM_NAME_IN_USE, STREAM_NOT_FOUND } from './jetstream';
import { sleep } from './sleep';

/**
 * A JetStream work queue of the namespace: a stream with work-queue retention (a message is
 * gone once acknowledged) and one durable consumer that every worker of every process pulls
 * from, so each item goes to one worker at a time. Unacknowledged items (a worker killed
 * mid-item) are delivered again after the ack wait.
 */
export type WorkQueue = Readonly<{ stream: string; subject: string; consumer: string; ackWaitMs: number }>;

/** `TIDINGS_WORK_IMPORTS`, subject `tidings.work.imports`, for the work queue `imports` of namespace `tidings`. */
export const workQueueOf = (topology: EventTopology, name: string, ackWaitMs: number): WorkQueue => ({
  stream: `${topology.namespace.toUpperCase().replaceAll('-', '_')}_WORK_${name.toUpperCase()}`,
  subject: `${topology.namespace}.work.${name}`,
  consumer: `${topology.namespace}_${name}_workers`,
  ackWaitMs,
});

const NANOS_PER_MS = 1_000_000;
/** An item published again within this window (the same id) is dropped by JetStream. */
const DUPLICATE_WINDOW_MS = 15 * 60_000;

/** Creates the queue's stream and consumer when missing; answers when the stream was created (one created again is another stream). */
export async function ensureWorkQueue(jsm: JetStreamManager, queue: WorkQueue): Promise<string> {
  let created: string;
  try {
    created = (await jsm.streams.info(queue.stream)).created;
  } catch (error) {
    if (!isJetStreamError(error, STREAM_NOT_FOUND)) throw error;
    created = await jsm.streams
      .add({ name: queue.stream, subjects: [queue.subject], retention: RetentionPolicy.Workqueue, storage: StorageType.File, duplicate_window: DUPLICATE_WINDOW_MS * NANOS_PER_MS })
      .then(
        (info) => info.created,
        async (raced: unknown) => {
          if (!isJetStreamError(raced, STREAM_NAME_IN_USE)) throw raced;
          return (await jsm.streams.info(queue.stream)).created;
        },
      );
  }
  try {
    await jsm.consumers.info(queue.stream, queue.consumer);
  } catch (error) {
    if (!isJetStreamError(error, CONSUMER_NOT_FOUND)) throw error;
    // Created by two processes at once with the same configuration: both succeed.
    await jsm.consumers.add(queue.stream, {
      durable_name: queue.consumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: queue.ackWaitMs * NANOS_PER_MS,
      // Workers decide when an item has failed too often; JetStream never drops one by itself.
      max_deliver: -1,
    });
  }
  return created;
}

export type WorkItem = Readonly<{ id: string; data: unknown }>;

/** Publishes items, each under its id (`Nats-Msg-Id`): one published twice is queued once. Resolves when JetStream has stored them all. */
export async function publishWork(nats: NatsConnection, queue: WorkQueue, items: readonly WorkItem[]): Promise<void> {
  await ensureWorkQueue(await nats.jetstreamManager(), queue);
  const js = nats.jetstream();
  await Promise.all(items.map((item) => js.publish(queue.subject, JSON.stringify(item.data), { msgID: item.id })));
}

export type WorkQueueWorkerOptions<Work> = Readonly<{
  nats: NatsConnection;
  queue: WorkQueue;
  /** Items worked on at once by this process. */
  concurrency: number;
  /** Does the work; whatever it throws has the item delivered again, after a backoff. */
  handle: (work: Work) => Promise<void>;
  /** Deliveries an item may fail before `giveUp` ends it. */
  maxDeliveries: number;
  /** Ends an item that failed `maxDeliveries` times (records why); the item is then dropped, or tried again if this throws too. */
  giveUp: (work: Work, reason: string) => Promise<void>;
  /**
   * Told when the worker meets a queue it has not seen: when it starts, and whenever the queue's
   * stream was created again since (lost with NATS's store directory, or deleted). What the queue
   * held may be gone: queue again what may be unfinished. Told again until it succeeds.
   */
  onNewQueue?: () => Promise<void>;
  log: (line: string) => void;
}>;

/** How often a worker checks that the queue's stream is the one it met (not created again since). */
const QUEUE_CHECK_MS = 5_000;

/** Pulls a work queue's items, as many at a time as it has free slots, and keeps each alive (in progress) while it is worked on. */
export class WorkQueueWorker<Work> {
  private readonly stopping = new AbortController();
  private readonly working = new Set<Promise<void>>();
  private running?: Promise<void>;

  constructor(private readonly options: WorkQueueWorkerOptions<Work>) {}

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    await Promise.all(this.working);
  }

  private async run(): Promise<void> {
    const { nats, queue, concurrency, log } = this.options;
    /** When the stream the worker last met was created; undefined until a new one has been told. */
    let met: string | undefined;
    const meet = async (created: string) => {
      if (created === met) return;
      await this.options.onNewQueue?.();
      met = created;
    };
    while (!this.stopping.signal.aborted) {
      try {
        const jsm = await nats.jetstreamManager();
        await meet(await ensureWorkQueue(jsm, queue));
        const consumer = await nats.jetstream().consumers.get(queue.stream, queue.consumer);
        let checkedAt = Date.now();
        while (!this.stopping.signal.aborted) {
          while (this.working.size >= concurrency) await Promise.race(this.working);
          const messages = await consumer.fetch({ max_messages: concurrency - this.working.size, expires: 1_000 });
          for await (const message of messages) this.begin(message);
          // Another process may have created the stream again (publishing to it) before this worker's pulls failed.
          if (Date.now() - checkedAt >= QUEUE_CHECK_MS) {
            await meet(await ensureWorkQueue(jsm, queue));
            checkedAt = Date.now();
          }
        }
      } catch (error) {
        log(`work queue ${queue.stream}: ${(error as Error).message}; pulling again in a second`);
        await sleep(1_000, this.stopping.signal);
      }
    }
  }

  private begin(message: JsMsg): void {
    const done = this.process(message).finally(() => this.working.delete(done));
    this.working.add(done);
  }

  private async process(message: JsMsg): Promise<void> {
    const { handle, giveUp, maxDeliveries, queue, log } = this.options;
    let work: Work;
    try {
      work = message.json<Work>();
    } catch {
      log(`work queue ${queue.stream}: dropping item ${message.seq}, which is not JSON`);
      return message.term();
    }
    // Tells JetStream the item is still being worked on, so it is not delivered to another worker meanwhile.
    const keepAlive = setInterval(() => message.working(), queue.ackWaitMs / 3);
    try {
      await handle(work);
      message.ack();
    } catch (error) {
      const reason = (error as Error).message ?? String(error);
      const deliveries = message.info.deliveryCount;
      if (deliveries < maxDeliveries) {
        log(`work queue ${queue.stream}: item ${message.seq} failed (delivery ${deliveries}): ${reason}; trying again`);
        return message.nak(Math.min(1_000 * 2 ** (deliveries - 1), 30_000));
      }
      await giveUp(work, reason).then(
        () => message.term(),
        () => message.nak(30_000),
      );
    } finally {
      clearInterval(keepAlive);
    }
  }
}
