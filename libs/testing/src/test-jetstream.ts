import { randomBytes } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { connectNats, eventTopology, type EventTopology } from '@tidings/messaging';

export const testNatsUrl = (): string => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A namespace of this run's own (`test_<run>_<random>`): its stream, subjects and consumers are nobody else's. */
export function newTestNamespace(): string {
  const runId = process.env.TIDINGS_TEST_RUN;
  if (!runId) throw new Error('the test run was not set up: run the tests with `npm test`');
  return `test_${runId}_${randomBytes(4).toString('hex')}`;
}

/**
 * For a test file: a NATS connection and a fresh namespace, connected before the file's
 * tests; the namespace's stream (and with it its consumers) is deleted after them.
 */
export function useTestJetStream(partitions = 4): { readonly nats: NatsConnection; readonly topology: EventTopology } {
  let nats: NatsConnection | undefined;
  const topology = eventTopology(newTestNamespace(), partitions);
  beforeAll(async () => {
    nats = await connectNats({ natsUrl: testNatsUrl() }, `tidings-test-${topology.namespace}`);
  });
  afterAll(async () => {
    if (!nats) return;
    await deleteStreams(nats, [topology.stream]);
    await nats.close();
  });
  return {
    get nats() {
      if (!nats) throw new Error('the test NATS connection is opened in beforeAll');
      return nats;
    },
    topology,
  };
}

/** Deletes every stream of a test run, key-value buckets' included: what `useTestJetStream` and crashed tests left behind. */
export async function deleteRunStreams(runId: string): Promise<void> {
  const nats = await connectNats({ natsUrl: testNatsUrl() }, `tidings-test-teardown-${runId}`);
  try {
    const jsm = await nats.jetstreamManager();
    const names: string[] = [];
    for await (const stream of jsm.streams.list()) {
      const { name } = stream.config;
      if (name.startsWith(`TEST_${runId.toUpperCase()}_`) || name.startsWith(`KV_test_${runId}_`)) names.push(name);
    }
    await deleteStreams(nats, names);
  } finally {
    await nats.close();
  }
}

async function deleteStreams(nats: NatsConnection, names: readonly string[]): Promise<void> {
  const jsm = await nats.jetstreamManager();
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
}

export type StoredMessage = Readonly<{ seq: number; subject: string; msgId: string; position: bigint }>;

/** Every message of a stream in stream order, read with an ordered consumer. */
export async function readStreamMessages(nats: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const jsm = await nats.jetstreamManager();
  const { state } = await jsm.streams.info(stream);
  const messages: StoredMessage[] = [];
  if (state.messages === 0) return messages;
  const consumer = await nats.jetstream().consumers.get(stream);
  try {
    while (messages.length < state.messages) {
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 2_000 });
      let received = 0;
      for await (const message of batch) {
        received++;
        messages.push({
          seq: message.seq,
          subject: message.subject,
          msgId: message.headers?.get('Nats-Msg-Id') ?? '',
          position: BigInt(message.headers?.get('Tidings-Position') ?? '-1'),
        });
        if (message.seq >= state.last_seq) break;
      }
      if (received === 0 || messages[messages.length - 1]?.seq >= state.last_seq) break;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
  return messages;
}
