import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy } from 'nats';
import { testNatsUrl, useTestJetStream } from '@tidings/testing';
import { Deliveries, type Delivery } from './deliveries';
import { ensureEventStream } from './jetstream';

/** The quiet that closes a batch; the thread stays busy well past what is left of it. */
const QUIET_MS = 1_000;

describe('Deliveries', () => {
  const jetstream = useTestJetStream();
  let subjects = 0;

  /**
   * A batch taken while two more messages wait unread in the socket: `scenario` is given `take`
   * and `busy` (the thread blocked while another process publishes them, as by another
   * partition's batch), and arranges them on the event loop. Resolves with the batch taken.
   */
  async function batchTakenAround(scenario: (take: () => void, busy: () => void) => void): Promise<Delivery[]> {
    const jsm = await jetstream.nats.jetstreamManager();
    const { stream } = jetstream.topology;
    await ensureEventStream(jsm, jetstream.topology);
    // A subject of its own: the consumer starts at the first message of it.
    const subject = `${jetstream.topology.namespace}.events.video.${subjects++}`;
    const consumer = `deliveries-spec-${subjects}`;
    await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, filter_subject: subject });
    const stop = new AbortController();
    const deliveries = await Deliveries.start(await jetstream.nats.jetstream().consumers.get(stream, consumer), 100, stop.signal);
    try {
      await jetstream.nats.jetstream().publish(subject, 'first');
      // The first message is read, and the quiet runs from it.
      await delay(100);
      return await new Promise<Delivery[]>((resolve, reject) =>
        scenario(
          () => void deliveries.take({ maxEvents: 100, lingerMs: 20_000, quietMs: QUIET_MS }).then(resolve, reject),
          () => execFileSync(process.execPath, ['-e', publishTwoThenLinger], { env: { ...process.env, NATS_MODULE: require.resolve('nats'), NATS_URL: testNatsUrl(), SUBJECT: subject } }),
        ),
      );
    } finally {
      stop.abort();
      await deliveries.close();
    }
  }

  it('does not close a batch on its quiet timer while messages wait unread: the thread was busy, the flood went on', async () => {
    // After the sockets were read in a turn (setImmediate), the quiet's timer fires first in the next one.
    const batch = await batchTakenAround((take, busy) =>
      setImmediate(() => {
        take();
        busy();
      }),
    );
    expect(batch.length).toBe(3);
  });

  it('does not take a batch as quiet while messages wait unread, when taken from an I/O callback after the quiet', async () => {
    // As the consumer loop takes its next batch after a transaction: in the poll phase, the quiet already over.
    const batch = await batchTakenAround((take, busy) =>
      readFile(__filename, () => {
        busy();
        take();
      }),
    );
    expect(batch.length).toBe(3);
  });
});

/** A separate process, so that it publishes while this thread is blocked; it lingers past the quiet. */
const publishTwoThenLinger = `
  const { connect } = require(process.env.NATS_MODULE);
  (async () => {
    const nats = await connect({ servers: process.env.NATS_URL });
    for (const data of ['second', 'third']) await nats.jetstream().publish(process.env.SUBJECT, data);
    await nats.close();
    await new Promise((resolve) => setTimeout(resolve, ${QUIET_MS + 500}));
  })();
`;
