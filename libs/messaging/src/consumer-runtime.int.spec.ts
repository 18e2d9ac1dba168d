import { uuidV7Ids, type RecordedEvent } from '@tidings/core';
import { productsProjection } from '@tidings/inventory';
import { ensureProjection, ProjectionConsumer } from '@tidings/read-models';
import { appendInventoryWorkload, eventually, foldProducts, testNatsUrl, useTestEventStore, useTestJetStream } from '@tidings/testing';
import type { ConsumerGroup } from './consumer-group';
import { ConsumerRuntime } from './consumer-runtime';
import { subjectOf } from './event-topology';
import { Relay } from './relay';

describe('ConsumerRuntime', () => {
  let relay: Relay;
  const runtimes: ConsumerRuntime[] = [];
  // Declared before the database and NATS hooks so that it runs before they drop them.
  afterAll(async () => {
    await Promise.allSettled([...runtimes.map((runtime) => runtime.stop()), relay.stop()]);
  });
  const given = useTestEventStore();
  const { pool } = given;
  const jetstream = useTestJetStream(4);

  beforeAll(async () => {
    await ensureProjection(pool, productsProjection);
    relay = new Relay({ store: given.store, nats: { natsUrl: testNatsUrl() }, databaseUrl: given.database.url, topology: jetstream.topology, checkIntervalMs: 200 });
    relay.start();
  });

  const member = (name: string) => {
    const runtime = new ConsumerRuntime({
      nats: jetstream.nats,
      pool,
      topology: jetstream.topology,
      group: new ProjectionConsumer(pool, productsProjection),
      member: name,
      leaseTtlMs: 1_500,
      batching: { maxEvents: 100 },
    });
    runtimes.push(runtime);
    runtime.start();
    return runtime;
  };

  // What the tests appended: a fold of $all only counts once $all shows all of it.
  let appended = 0;
  const append = async (workload: Parameters<typeof appendInventoryWorkload>[1]) => {
    appended += await appendInventoryWorkload(given.store, workload);
  };

  async function expectReadModelMatchesStore(): Promise<void> {
    await eventually(
      async () => {
        expect((await given.store.readAll({ limit: 1_000_000 })).length).toBe(appended);
        const expected = await foldProducts(given.store);
        const { rows } = await pool.query<{ sku: string; on_hand: number; reserved: number; version: number }>(
          'SELECT sku, on_hand, reserved, version FROM products ORDER BY sku',
        );
        expect(rows).toEqual(
          [...expected.values()]
            .sort((a, b) => (a.sku < b.sku ? -1 : 1))
            .map((row) => ({ sku: row.sku, on_hand: row.onHand, reserved: row.reserved, version: row.version })),
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }

  it('shares the partitions among members and hands a stopped member’s partitions to the others', async () => {
    const first = member('first');
    const second = member('second');
    await eventually(() => {
      expect(first.partitions).toHaveLength(2);
      expect(second.partitions).toHaveLength(2);
    });
    await append({ products: 40, events: 2_000, skuPrefix: 'shared' });
    await expectReadModelMatchesStore();

    await second.stop();
    await eventually(() => expect(first.partitions.map((partition) => partition.partition)).toEqual([0, 1, 2, 3]));
    await append({ products: 40, events: 1_000, skuPrefix: 'alone' });
    await expectReadModelMatchesStore();
  });

  it('ends consistent when the JetStream stream is deleted mid-run', async () => {
    await append({
      products: 20,
      events: 2_000,
      skuPrefix: 'lost',
      afterAppend: async (appended) => {
        if (appended !== 700) return;
        // A JetStream API request can meet no responder on a loaded server; the deletion is what matters.
        await eventually(async () => {
          const jsm = await jetstream.nats.jetstreamManager();
          await jsm.streams.delete(jetstream.topology.stream);
        });
      },
    });
    await expectReadModelMatchesStore();
    await eventually(async () => {
      const { rows } = await pool.query<{ position: string }>(
        "SELECT max(position) AS position FROM checkpoints WHERE consumer_group = 'projection.products'",
      );
      expect(rows[0].position).toBe(String(await given.store.headPosition()));
    });
  });

  it('drops a message that is not an event, with a log line, and applies the events around it', async () => {
    const handled: string[] = [];
    const logged: string[] = [];
    let checkpoint = 0n;
    const recorder: ConsumerGroup = {
      name: 'spec.malformed',
      categories: ['delta'],
      async handle({ events }) {
        for (const event of events.filter((candidate) => candidate.position > checkpoint)) handled.push((event.data as { note: string }).note);
        if (events.length) checkpoint = events[events.length - 1].position;
        return 'applied';
      },
      checkpoint: async () => checkpoint,
    };
    const runtime = new ConsumerRuntime({ nats: jetstream.nats, pool, topology: jetstream.topology, group: recorder, member: 'malformed', leaseTtlMs: 1_500, warn: (line) => logged.push(line) });
    runtimes.push(runtime);
    runtime.start();
    await eventually(() => expect(runtime.partitions).toHaveLength(4));
    const note = (text: string) =>
      given.store.append('delta-1', [{ eventId: uuidV7Ids.next(), type: 'Noted', data: { note: text }, metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 } }], { expectedVersion: 'any' });

    await note('before');
    await eventually(() => expect(handled).toEqual(['before']), { timeoutMs: 30_000, intervalMs: 100 });
    await jetstream.nats.jetstream().publish(subjectOf(jetstream.topology, 'delta-1'), new TextEncoder().encode('not an envelope'));
    await note('after');

    await eventually(() => expect(handled).toEqual(['before', 'after']), { timeoutMs: 30_000, intervalMs: 100 });
    expect(logged.filter((line) => line.includes('dropping message'))).toEqual([expect.stringContaining('not JSON')]);
  });

  it('reads a group of several categories through a consumer per partition and category: its events, each once, no others', async () => {
    const handled: RecordedEvent[] = [];
    const checkpoints = new Map<number, bigint>();
    const recorder: ConsumerGroup = {
      name: 'spec.recorder',
      categories: ['alpha', 'beta'],
      async handle({ lease, events }) {
        const fresh = events.filter((event) => event.position > (checkpoints.get(lease.partition) ?? 0n));
        handled.push(...fresh);
        if (fresh.length) checkpoints.set(lease.partition, fresh[fresh.length - 1].position);
        return 'applied';
      },
      checkpoint: async (partition) => checkpoints.get(partition) ?? 0n,
    };
    const runtime = new ConsumerRuntime({ nats: jetstream.nats, pool, topology: jetstream.topology, group: recorder, member: 'recorder', leaseTtlMs: 1_500 });
    runtimes.push(runtime);
    runtime.start();
    // 4 partitions × 2 categories.
    await eventually(() => expect(runtime.partitions).toHaveLength(8));

    const sent = new Map<string, number>();
    for (let index = 0; index < 60; index++) {
      const streamId = `${['alpha', 'beta', 'gamma'][index % 3]}-${index % 12}`;
      await given.store.append(streamId, [{ eventId: uuidV7Ids.next(), type: 'Noted', data: { index }, metadata: { correlationId: 'c', causationId: 'c', actor: 'spec', schemaVersion: 1 } }], {
        expectedVersion: 'any',
      });
      sent.set(streamId, (sent.get(streamId) ?? 0) + 1);
    }

    await eventually(() => expect(handled).toHaveLength(40), { timeoutMs: 30_000, intervalMs: 100 });
    expect(new Set(handled.map((event) => event.eventId)).size).toBe(40);
    const byStream = new Map<string, number[]>();
    for (const event of handled) byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event.streamVersion]);
    // Every alpha and beta stream whole and in order; no gamma.
    expect([...byStream.keys()].sort()).toEqual([...sent.keys()].filter((streamId) => !streamId.startsWith('gamma')).sort());
    for (const [streamId, versions] of byStream) expect(versions).toEqual(Array.from({ length: sent.get(streamId) as number }, (_, version) => version));
  });
});
