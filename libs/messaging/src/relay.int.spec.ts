import { appendInventoryWorkload, eventually, readStreamMessages, startTcpProxy, testNatsUrl, useTestEventStore, useTestJetStream } from '@tidings/testing';
import { subjectOf } from './event-topology';
import { Relay } from './relay';

describe('Relay', () => {
  const given = useTestEventStore();
  const jetstream = useTestJetStream(4);
  const relays: Relay[] = [];

  const startRelay = (natsUrl = testNatsUrl(), databaseUrl = given.database.url) => {
    const relay = new Relay({
      store: given.store,
      nats: { natsUrl },
      databaseUrl,
      topology: jetstream.topology,
      window: 200,
      checkIntervalMs: 200,
    });
    relays.push(relay);
    relay.start();
    return relay;
  };

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });

  /** Every stored event exactly once, under its id and subject, in position order. */
  async function expectStreamMirrorsStore(): Promise<void> {
    await eventually(async () => {
      // Inside the retry: $all shows an append only once every older transaction on the server has ended.
      const head = await given.store.headPosition();
      const stored = await given.store.readAll({ limit: 1_000_000 });
      const messages = await readStreamMessages(jetstream.nats, jetstream.topology.stream);
      expect(messages.length).toBe(stored.length);
      expect(messages.map((message) => message.msgId)).toEqual(stored.map((event) => event.eventId));
      expect(messages.map((message) => message.subject)).toEqual(stored.map((event) => subjectOf(jetstream.topology, event.streamId)));
      expect(String(messages[messages.length - 1].position)).toBe(String(head));
    }, { timeoutMs: 20_000, intervalMs: 250 });
  }

  it('publishes every event once, in order, with its id and headers, and resumes after a restart from the stream', async () => {
    await appendInventoryWorkload(given.store, { products: 20, events: 1_000, skuPrefix: 'first' });
    const first = startRelay();
    await eventually(async () => expect(String(first.state.acknowledged)).toBe(String(await given.store.headPosition())), { timeoutMs: 20_000 });
    await first.stop();

    await appendInventoryWorkload(given.store, { products: 20, events: 1_000, skuPrefix: 'second' });
    startRelay();
    await expectStreamMirrorsStore();

    const jsm = await jetstream.nats.jetstreamManager();
    const message = await jsm.streams.getMessage(jetstream.topology.stream, { seq: 1 });
    const [event] = await given.store.readAll({ limit: 1 });
    expect(message.header.get('Nats-Msg-Id')).toBe(event.eventId);
    expect(message.header.get('Tidings-Stream')).toBe(event.streamId);
    expect(message.header.get('Tidings-Version')).toBe('0');
    expect(message.header.get('Tidings-Type')).toBe('ProductRegistered');
    expect(message.json<{ position: string; eventId: string }>()).toMatchObject({ eventId: event.eventId, position: event.position.toString() });
  });

  it('lets one relay publish at a time; the standby takes over when the active one stops', async () => {
    const one = startRelay();
    const other = startRelay();
    await eventually(() => expect([one.state.active, other.state.active].filter(Boolean)).toHaveLength(1));
    const [active, standby] = one.state.active ? [one, other] : [other, one];

    const writing = appendInventoryWorkload(given.store, { products: 10, events: 2_000, skuPrefix: 'failover' });
    await eventually(() => expect(active.state.acknowledged > 0n).toBe(true));
    await active.stop();
    const stoppedAt = Date.now();
    await eventually(() => expect(standby.state.active).toBe(true), { timeoutMs: 5_000 });
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await writing;
    await expectStreamMirrorsStore();
  });

  it('lets a standby take over from an active relay that stops running without dying (its lock\u2019s session falls silent)', async () => {
    // The active relay's lock session goes through a proxy that the test freezes, as SIGSTOP would freeze the process.
    const proxy = await startTcpProxy(Number(new URL(given.database.url).port || 5432));
    try {
      const frozenUrl = new URL(given.database.url);
      frozenUrl.hostname = '127.0.0.1';
      frozenUrl.port = String(proxy.port);
      const frozen = startRelay(testNatsUrl(), frozenUrl.toString());
      await eventually(() => expect(frozen.state.active).toBe(true));
      const standby = startRelay();
      const writing = appendInventoryWorkload(given.store, { products: 10, events: 500, skuPrefix: 'frozen' });
      proxy.freeze();
      // Unanswered for four checks of 200 ms, the frozen relay steps down; after five, PostgreSQL ends its session and its lock.
      await eventually(() => expect(frozen.state.active).toBe(false), { timeoutMs: 10_000 });
      await eventually(() => expect(standby.state.active).toBe(true), { timeoutMs: 10_000 });
      expect(frozen.state.active).toBe(false);
      await writing;
      await expectStreamMirrorsStore();
    } finally {
      await proxy.close();
    }
  });

  it('recreates a deleted stream and republishes the store into it', async () => {
    startRelay();
    const writing = appendInventoryWorkload(given.store, {
      products: 10,
      events: 1_000,
      skuPrefix: 'deleted',
      afterAppend: async (appended) => {
        if (appended !== 300) return;
        // A JetStream API request can meet no responder on a loaded server; the deletion is what matters.
        await eventually(async () => {
          const jsm = await jetstream.nats.jetstreamManager();
          await jsm.streams.delete(jetstream.topology.stream);
        });
      },
    });
    await writing;
    await expectStreamMirrorsStore();
  });

  it('loses nothing and reorders nothing when its NATS connection is cut mid-publish, again and again', async () => {
    const proxy = await startTcpProxy(Number(new URL(testNatsUrl()).port || 4222));
    try {
      const relay = startRelay(`nats://127.0.0.1:${proxy.port}`);
      let cuts = 0;
      await appendInventoryWorkload(given.store, {
        products: 10,
        events: 3_000,
        skuPrefix: 'cut',
        afterAppend: async (appended) => {
          if (appended % 500 !== 0 || !relay.state.active) return;
          proxy.cut();
          cuts++;
        },
      });
      expect(cuts).toBeGreaterThanOrEqual(3);
      await expectStreamMirrorsStore();
    } finally {
      await proxy.close();
    }
  });
});
