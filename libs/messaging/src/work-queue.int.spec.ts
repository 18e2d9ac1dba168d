import { eventually, useTestJetStream } from '@tidings/testing';
import { publishWork, WorkQueueWorker, workQueueOf, type WorkItem } from './work-queue';

type Work = Readonly<{ n: number }>;

describe('a JetStream work queue', () => {
  const workers: WorkQueueWorker<Work>[] = [];
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    const jsm = await jetstream.nats.jetstreamManager();
    await jsm.streams.delete(queue.stream).catch(() => false);
  });
  const jetstream = useTestJetStream(1);
  const queue = workQueueOf(jetstream.topology, 'spec', 1_000);

  it('gives each item to one of the workers, once published twice, again when it failed, and to giveUp after too many failures', async () => {
    const handled: number[] = [];
    const given: { n: number; reason: string }[] = [];
    let flakyFailures = 0;
    const worker = (name: string) => {
      const started = new WorkQueueWorker<Work>({
        nats: jetstream.nats,
        queue,
        concurrency: 3,
        maxDeliveries: 2,
        handle: async ({ n }) => {
          if (n === 7 && flakyFailures++ === 0) throw new Error('flaky once');
          if (n === 13) throw new Error(`always fails in ${name}`);
          handled.push(n);
        },
        giveUp: async ({ n }, reason) => {
          given.push({ n, reason });
        },
        log: () => undefined,
      });
      workers.push(started);
      started.start();
    };
    const items: WorkItem[] = Array.from({ length: 20 }, (_, n) => ({ id: `item-${n}`, data: { n } }));
    await publishWork(jetstream.nats, queue, items);
    await publishWork(jetstream.nats, queue, items.slice(0, 5));
    worker('a');
    worker('b');

    await eventually(
      () => {
        expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n).filter((n) => n !== 13));
        expect(given).toEqual([{ n: 13, reason: expect.stringMatching(/always fails/) }]);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(flakyFailures).toBe(2);
    const jsm = await jetstream.nats.jetstreamManager();
    await eventually(async () => expect((await jsm.streams.info(queue.stream)).state.messages).toBe(0));
  });
});
