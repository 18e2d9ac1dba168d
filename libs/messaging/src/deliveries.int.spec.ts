import { execFileSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { AckPolicy } from 'nats';
import { testNatsUrl, useTestJetStream } from '@tidings/testing';
import { Deliveries } from './deliveries';
import { ensureEventStream } from './jetstream';

describe('Deliveries', () => {
  const jetstream = useTestJetStream();

  it('does not take a batch as quiet while messages wait unread: the thread was busy, the flood went on', async () => {
    const jsm = await jetstream.nats.jetstreamManager();
    const { stream } = jetstream.topology;
    await ensureEventStream(jsm, jetstream.topology);
    const subject = `${jetstream.topology.namespace}.events.video.0`;
    await jsm.consumers.add(stream, { durable_name: 'deliveries-spec', ack_policy: AckPolicy.Explicit, filter_subject: subject });
    const stop = new AbortController();
    const deliveries = await Deliveries.start(await jetstream.nats.jetstream().consumers.get(stream, 'deliveries-spec'), 100, stop.signal);
    try {
      await jetstream.nats.jetstream().publish(subject, 'first');
      // The first message is read, and the quiet (300 ms) runs from it.
      await delay(100);
      const taking = deliveries.take({ maxEvents: 100, lingerMs: 10_000, quietMs: 300 });
      // The thread is busy for over a second in a callback (as with another partition's batch) while
      // two more arrive: they wait in the socket, unread, when the quiet's timer fires next.
      setImmediate(() => execFileSync(process.execPath, ['-e', publishTwoThenLinger], { env: { ...process.env, NATS_MODULE: require.resolve('nats'), NATS_URL: testNatsUrl(), SUBJECT: subject } }));
      expect((await taking).length).toBe(3);
    } finally {
      stop.abort();
      await deliveries.close();
    }
  });
});

/** A separate process, so that it publishes while this thread is blocked. */
const publishTwoThenLinger = `
  const { connect } = require(process.env.NATS_MODULE);
  (async () => {
    const nats = await connect({ servers: process.env.NATS_URL });
    for (const data of ['second', 'third']) await nats.jetstream().publish(process.env.SUBJECT, data);
    await nats.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  })();
`;
