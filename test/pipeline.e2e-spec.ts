import type { NatsConnection } from 'nats';
import { connectNats, eventTopology } from '@tidings/messaging';
import {
  appendInventoryWorkload,
  eventually,
  foldProducts,
  newTestNamespace,
  readStreamMessages,
  testNatsUrl,
  useTestEventStore,
} from '@tidings/testing';
import { killHard, startTidings, stopGracefully, type TidingsProcess } from './tidings-process';

/**
 * The whole pipeline as separate processes — store → relay → JetStream → projector →
 * products read model — with relays and projectors killed with SIGKILL at random moments
 * while 20k events are written (QUALITY.md, ledger checks D, P and R).
 */
describe('event pipeline under kill -9', () => {
  let nats: NatsConnection;
  const namespace = newTestNamespace();
  const topology = eventTopology(namespace, 4);
  const processes: TidingsProcess[] = [];
  // Declared before the database's hooks: after-all hooks run in the order they are declared.
  afterAll(async () => {
    await Promise.all(processes.map(stopGracefully));
    const jsm = await nats.jetstreamManager();
    await jsm.streams.delete(topology.stream).catch(() => false);
    await nats.close();
  });
  const { store, database, pool } = useTestEventStore();

  beforeAll(async () => {
    nats = await connectNats({ natsUrl: testNatsUrl() }, 'pipeline-e2e');
  });

  const roleOf = new Map<TidingsProcess, string>();
  const launch = (roles: string) => {
    const started = startTidings(
      { DATABASE_URL: database.url, NATS_URL: testNatsUrl(), TIDINGS_NAMESPACE: namespace, TIDINGS_PARTITIONS: '4', TIDINGS_LEASE_TTL_MS: '2000' },
      roles,
    );
    processes.push(started);
    roleOf.set(started, roles);
    return started;
  };
  const running = (roles: string) =>
    processes.filter((candidate) => candidate.child.exitCode === null && candidate.child.signalCode === null && roleOf.get(candidate) === roles);

  it('ends with the read model equal to a fold of the store, every event applied and published exactly once', async () => {
    launch('relay');
    launch('relay');
    launch('projector');
    launch('projector');

    // Kill somebody every ~1,500 events: relays and projectors alike, then start a replacement.
    const kills: string[] = [];
    const writingStarted = Date.now();
    const total = await appendInventoryWorkload(store, {
      products: 400,
      events: 20_000,
      concurrency: 8,
      afterAppend: async (appended) => {
        if (appended % 1_500 !== 0 || appended >= 19_000) return;
        const roles = kills.length % 2 === 0 ? 'relay' : 'projector';
        const candidates = running(roles);
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        kills.push(`${roles} at ${appended}`);
        await killHard(victim);
        launch(roles);
      },
    });
    expect(kills.length).toBeGreaterThanOrEqual(10);
    const writeSeconds = (Date.now() - writingStarted) / 1000;

    const diagnostics = () => processes.map((candidate) => candidate.output().slice(-2_000)).join('\n---\n');
    await eventually(
      async () => {
        // Inside the retry: $all shows an append once every older transaction on the server has ended.
        const head = await store.headPosition();
        const expected = await foldProducts(store);
        expect(expected.size).toBe(400);
        const { rows } = await pool.query<{ sku: string; on_hand: number; reserved: number; available: number; version: number; position: string }>(
          'SELECT sku, on_hand, reserved, available, version, position FROM products',
        );
        const actual = new Map(rows.map((row) => [row.sku, row]));
        expect(actual.size).toBe(expected.size);
        for (const [sku, row] of expected) {
          expect({ sku, ...actual.get(sku), position: String(actual.get(sku)?.position) }).toEqual({
            sku,
            on_hand: row.onHand,
            reserved: row.reserved,
            available: row.available,
            version: row.version,
            position: String(row.position),
          });
        }
        const { rows: checkpoints } = await pool.query<{ position: string }>(
          "SELECT max(position) AS position FROM checkpoints WHERE consumer_group = 'projection.products'",
        );
        expect(checkpoints[0].position).toBe(String(head));
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nwritten in ${writeSeconds} s; kills: ${kills.join(', ')}\n${diagnostics()}`);
    });

    const stored = await store.readAll({ fromPosition: 0n, limit: total + 1 });
    const messages = await readStreamMessages(nats, topology.stream);
    expect(messages.map((message) => message.msgId)).toEqual(stored.map((event) => event.eventId));
  }, 240_000);

  it('lets the standby relay continue within 5 s of the active one being killed', async () => {
    const relays = running('relay');
    expect(relays).toHaveLength(2);
    const active = relays.find((relay) => relay.output().includes('relay: active')) as TidingsProcess;
    await killHard(active);
    const killedAt = Date.now();
    await appendInventoryWorkload(store, { products: 1, events: 5, skuPrefix: 'after-kill' });
    const head = await store.headPosition();
    await eventually(
      async () => {
        const jsm = await nats.jetstreamManager();
        const { state } = await jsm.streams.info(topology.stream);
        const last = await jsm.streams.getMessage(topology.stream, { seq: state.last_seq });
        expect(last.header.get('Tidings-Position')).toBe(String(head));
      },
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(Date.now() - killedAt).toBeLessThan(5_000);
  });
});
