import fc from 'fast-check';
import { Pool } from 'pg';
import { uuidV7Ids, type EventStore, type EventToAppend, type RecordedEvent } from '@tidings/core';
import { PostgresEventStore } from '@tidings/event-store';
import { evolveProduct, initialProduct, productStreamId, productsProjection, type InventoryEvent, type ProductRecord } from '@tidings/inventory';
import { PartitionLeases, partitionOf, type Lease } from '@tidings/messaging';
import { createTestDatabase, eventually, useTestEventStore } from '@tidings/testing';
import { DeadLetterNotFound, DeadLetterOutOfOrder, dropDeadLetter, listDeadLetters, replayDeadLetter } from './dead-letters';
import { failingProjection, recordedRows, type FailingProjection } from './failing-projection.fixture';
import { consumerGroupOf } from './projection';
import { ProjectionConsumer } from './projection-consumer';
import { ensureProjection } from './projection-registry';
import { projectionStatuses, resumeProjection } from './projection-status';

const metadata = () => ({ correlationId: uuidV7Ids.next(), causationId: uuidV7Ids.next(), actor: 'spec', schemaVersion: 1 });
const toAppend = (event: { type: string; data: unknown }): EventToAppend => ({ ...event, eventId: uuidV7Ids.next(), metadata: metadata() });

/**
 * Appends one event and returns it once readers of `$all` see it: only then could the relay have
 * published it. (`$all` is gap-safe: an event stays hidden while any older transaction on the
 * server is still open.)
 */
async function appendOne(store: EventStore, streamId: string, event: { type: string; data: unknown }): Promise<RecordedEvent> {
  const { position } = await store.append(streamId, [toAppend(event)], { expectedVersion: 'any' });
  return eventually(async () => {
    const [recorded] = await store.readAll({ fromPosition: position - 1n, limit: 1 });
    expect(recorded?.position).toBe(position);
    return recorded;
  });
}

/** Takes every partition of the group for one member, as the runtime does before it hands out batches. */
async function leaseAll(pool: Pool, group: string, partitions: number): Promise<Lease[]> {
  const member = `member-${uuidV7Ids.next()}`;
  const held = await new PartitionLeases(pool, group, member, partitions, 10 * 60_000).balance();
  expect(held).toEqual(Array.from({ length: partitions }, (_, partition) => partition));
  return held.map((partition) => ({ group, partition, member }));
}

async function checkpoints(pool: Pool, group: string): Promise<Record<number, bigint>> {
  const { rows } = await pool.query<{ partition: number; position: string }>(
    'SELECT partition, position FROM checkpoints WHERE consumer_group = $1 ORDER BY partition',
    [group],
  );
  return Object.fromEntries(rows.map((row) => [row.partition, BigInt(row.position)]));
}

/** A stream id of the category that the group's partitioning puts on `partition`. */
function streamOn(category: string, partition: number, partitions: number, taken: Set<string>): string {
  for (let index = 0; ; index++) {
    const streamId = `${category}-${index}`;
    if (!taken.has(streamId) && partitionOf(streamId, partitions) === partition) {
      taken.add(streamId);
      return streamId;
    }
  }
}

// The property: any delivery JetStream can produce leaves the read model equal to the fold of the events.

type Operation = Readonly<{ kind: 'receive' | 'reserve' | 'release' | 'commit'; quantity: number; pick: number }>;

const operation: fc.Arbitrary<Operation> = fc.record({
  kind: fc.constantFrom('receive', 'reserve', 'release', 'commit'),
  quantity: fc.integer({ min: 1, max: 5 }),
  pick: fc.nat(),
});

const scenario = fc.record({
  products: fc.array(fc.record({ operations: fc.array(operation, { maxLength: 10 }), partition: fc.nat() }), { minLength: 1, maxLength: 4 }),
  partitions: fc.integer({ min: 1, max: 3 }),
  /** Which stream appends next, so streams interleave in `$all`. */
  appendOrder: fc.array(fc.nat(), { maxLength: 50 }),
  /**
   * A redelivery: after the `after`-th message of a partition, `length` messages from `back` before it come again —
   * mostly recent ones, whose acks were lost, sometimes old ones.
   */
  redeliveries: fc.array(
    fc.record({
      partition: fc.nat(),
      after: fc.nat(),
      back: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat()),
      length: fc.integer({ min: 1, max: 3 }),
    }),
    { maxLength: 8 },
  ),
  batchSizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
  /** Which partition's next batch arrives next. */
  turns: fc.array(fc.nat(), { maxLength: 40 }),
});

type Plan = typeof scenario extends fc.Arbitrary<infer Value> ? Value : never;

/** A valid history of one product: what the deciders could have appended for these operations. */
function productHistory(sku: string, operations: readonly Operation[]): InventoryEvent[] {
  const history: InventoryEvent[] = [{ type: 'ProductRegistered', data: { sku, name: `Product ${sku}`, priceCents: 100 + sku.length, currency: 'EUR' } }];
  const open: { reservationId: string; quantity: number }[] = [];
  let onHand = 0;
  let reserved = 0;
  operations.forEach(({ kind, quantity, pick }, index) => {
    if (kind === 'receive') {
      history.push({ type: 'StockReceived', data: { sku, quantity } });
      onHand += quantity;
    } else if (kind === 'reserve') {
      const reservationId = `r-${index}`;
      if (onHand - reserved >= quantity) {
        history.push({ type: 'StockReserved', data: { sku, reservationId, quantity } });
        open.push({ reservationId, quantity });
        reserved += quantity;
      } else {
        history.push({ type: 'StockReservationRejected', data: { sku, reservationId, quantity, available: onHand - reserved } });
      }
    } else if (open.length) {
      const [reservation] = open.splice(pick % open.length, 1);
      history.push({ type: kind === 'release' ? 'StockReleased' : 'StockCommitted', data: { sku, ...reservation } });
      reserved -= reservation.quantity;
      if (kind === 'commit') onHand -= reservation.quantity;
    }
  });
  return history;
}

/** Per partition, the messages in order with redelivered ones inserted after newer ones, cut into batches; partitions interleaved. */
function deliverySchedule(byPartition: readonly RecordedEvent[][], plan: Plan): { partition: number; events: RecordedEvent[] }[] {
  const queues = byPartition.map((messages, partition) => {
    const after = messages.map((): RecordedEvent[] => []);
    for (const redelivery of plan.redeliveries) {
      if (redelivery.partition % byPartition.length !== partition || messages.length === 0) continue;
      const at = redelivery.after % messages.length;
      const from = Math.max(0, at - redelivery.back);
      after[at].push(...messages.slice(from, Math.min(from + redelivery.length, at + 1)));
    }
    const delivered = messages.flatMap((message, index) => [message, ...after[index]]);
    const batches: RecordedEvent[][] = [];
    for (let start = 0, cut = partition; start < delivered.length; cut++) {
      const size = plan.batchSizes[cut % plan.batchSizes.length];
      batches.push(delivered.slice(start, start + size));
      start += size;
    }
    return batches;
  });
  const schedule: { partition: number; events: RecordedEvent[] }[] = [];
  for (let turn = 0; ; turn++) {
    const waiting = queues.map((batches, partition) => (batches.length ? partition : -1)).filter((partition) => partition >= 0);
    if (waiting.length === 0) return schedule;
    const pick = plan.turns.length ? plan.turns[turn % plan.turns.length] : turn;
    const partition = waiting[pick % waiting.length];
    schedule.push({ partition, events: queues[partition].shift() as RecordedEvent[] });
  }
}

/** The products read model as the domain's own fold of each stream says it must be. */
function expectedProducts(events: readonly RecordedEvent[]): ProductRecord[] {
  const streams = new Map<string, RecordedEvent[]>();
  for (const event of events) streams.set(event.streamId, [...(streams.get(event.streamId) ?? []), event]);
  return [...streams.values()]
    .map((history) => {
      const product = history.reduce((state, event) => evolveProduct(state, event as RecordedEvent<InventoryEvent>), initialProduct());
      if (product.status !== 'registered') throw new Error(`${history[0].streamId} was never registered`);
      const last = history[history.length - 1];
      return {
        sku: product.sku,
        name: product.name,
        price_cents: String(product.priceCents),
        currency: product.currency,
        on_hand: product.onHand,
        reserved: product.reserved,
        available: product.onHand - product.reserved,
        version: last.streamVersion,
        position: last.position.toString(),
      };
    })
    .sort((a, b) => (a.sku < b.sku ? -1 : 1));
}

describe('ProjectionConsumer over PostgreSQL', () => {
  it('leaves products equal to the fold of the events, and each checkpoint at its partition’s last event, for any batching, redelivery and interleaving', async () => {
    const group = consumerGroupOf(productsProjection);
    await fc.assert(
      fc.asyncProperty(scenario, async (plan) => {
        const database = await createTestDatabase();
        const store = new PostgresEventStore({ connectionString: database.url });
        const pool = new Pool({ connectionString: database.url, max: 4 });
        try {
          const histories = plan.products.map((product, index) => ({
            streamId: productStreamId(`sku-${index}`),
            partition: product.partition % plan.partitions,
            pending: productHistory(`sku-${index}`, product.operations),
          }));
          let appended = 0;
          for (let turn = 0; ; turn++, appended++) {
            const waiting = histories.filter((history) => history.pending.length);
            if (waiting.length === 0) break;
            const next = waiting[(plan.appendOrder[turn % Math.max(1, plan.appendOrder.length)] ?? 0) % waiting.length];
            await store.append(next.streamId, [toAppend(next.pending.shift() as InventoryEvent)], { expectedVersion: 'any' });
          }
          // What the relay could publish: `$all` shows an event once no older transaction on the server is open.
          const events = await eventually(async () => {
            const all = await store.readAll({ limit: 10_000 });
            expect(all).toHaveLength(appended);
            return all;
          });
          const partitionOfStream = new Map(histories.map((history) => [history.streamId, history.partition]));
          const byPartition = Array.from({ length: plan.partitions }, (_, partition) =>
            events.filter((event) => partitionOfStream.get(event.streamId) === partition),
          );

          await ensureProjection(pool, productsProjection);
          const leases = await leaseAll(pool, group, plan.partitions);
          const consumer = new ProjectionConsumer(pool, productsProjection);
          const highest: Record<number, bigint> = {};
          for (const batch of deliverySchedule(byPartition, plan)) {
            expect(await consumer.handle({ lease: leases[batch.partition], events: batch.events })).toBe('applied');
            // The checkpoint only moves forward: to the highest position the partition has been given.
            for (const event of batch.events) if (event.position > (highest[batch.partition] ?? 0n)) highest[batch.partition] = event.position;
            expect(await checkpoints(pool, group)).toEqual(highest);
          }

          const { rows } = await pool.query<ProductRecord>('SELECT * FROM products ORDER BY sku COLLATE "C"');
          expect(rows).toEqual(expectedProducts(events));
          expect(await checkpoints(pool, group)).toEqual(
            Object.fromEntries(
              byPartition.flatMap((partitionEvents, partition) =>
                partitionEvents.length ? [[partition, partitionEvents[partitionEvents.length - 1].position]] : [],
              ),
            ),
          );
        } finally {
          await pool.end();
          await store.close();
          await database.drop();
        }
      }),
      // A failure shrinks against a fresh database per run: bound it, so the counterexample is reported within the test's timeout.
      { numRuns: 25, interruptAfterTimeLimit: 45_000, markInterruptAsFailure: true },
    );
  });

  describe('with a projection that records each event it applies', () => {
    const given = useTestEventStore();
    const { pool } = given;

    const gadget = (n: number, poison = false) => ({ type: 'GadgetChanged', data: poison ? { n, poison: true } : { n } });

    async function setUp(projection: FailingProjection, partitions: number) {
      await ensureProjection(pool, projection);
      const leases = await leaseAll(pool, consumerGroupOf(projection), partitions);
      // Two attempts per event keep the spec short; the runtime would redeliver after a backoff.
      const alerts: string[] = [];
      return { leases, alerts, consumer: new ProjectionConsumer(pool, projection, { maxAttempts: 2, alert: (line) => alerts.push(line) }) };
    }

    it('applies a message redelivered inside a batch of newer ones once, and never moves the checkpoint back', async () => {
      const projection = failingProjection('gadgets_redelivered', 'block', 'redelivered');
      const group = consumerGroupOf(projection);
      const { leases, consumer } = await setUp(projection, 1);
      const [e0, e1, e2] = [await appendOne(given.store, 'redelivered-1', gadget(0)), await appendOne(given.store, 'redelivered-1', gadget(1)), await appendOne(given.store, 'redelivered-1', gadget(2))];

      await expect(consumer.handle({ lease: leases[0], events: [e0, e1, e0] })).resolves.toBe('applied');
      expect(await checkpoints(pool, group)).toEqual({ 0: e1.position });
      await expect(consumer.handle({ lease: leases[0], events: [e1, e2, e1] })).resolves.toBe('applied');
      expect(await checkpoints(pool, group)).toEqual({ 0: e2.position });
      await expect(consumer.handle({ lease: leases[0], events: [e2, e0, e1] })).resolves.toBe('applied');

      expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([e0.position, e1.position, e2.position]);
      expect(await checkpoints(pool, group)).toEqual({ 0: e2.position });
    });

    it('applies batches of several partitions that arrive together in one transaction, in position order, and a poison event holds up only its own partition', async () => {
      const recording = failingProjection('gadgets_joint', 'block', 'joint');
      const applied: bigint[][] = [];
      const projection: FailingProjection = Object.assign(Object.create(recording) as FailingProjection, {
        apply: (...[db, events, tables]: Parameters<FailingProjection['apply']>) => {
          applied.push(events.map((event) => event.position));
          return recording.apply(db, events, tables);
        },
      });
      const group = consumerGroupOf(projection);
      const { leases, consumer } = await setUp(projection, 3);
      const taken = new Set<string>();
      const [a, b, c] = [0, 1, 2].map((partition) => streamOn('joint', partition, 3, taken));
      const a0 = await appendOne(given.store, a, gadget(0));
      const b0 = await appendOne(given.store, b, gadget(0));
      const c0 = await appendOne(given.store, c, gadget(0));
      const a1 = await appendOne(given.store, a, gadget(1));
      const b1 = await appendOne(given.store, b, gadget(1));

      const together = [
        { lease: leases[2], events: [c0] },
        { lease: leases[0], events: [a0, a1] },
        { lease: leases[1], events: [b0, b1] },
      ];
      await expect(Promise.all(together.map((batch) => consumer.handle(batch)))).resolves.toEqual(['applied', 'applied', 'applied']);
      expect(applied).toEqual([[a0, b0, c0, a1, b1].map((event) => event.position)]);
      expect(await checkpoints(pool, group)).toEqual({ 0: a1.position, 1: b1.position, 2: c0.position });

      const a2 = await appendOne(given.store, a, gadget(2));
      const b2 = await appendOne(given.store, b, gadget(2, true));
      const c1 = await appendOne(given.store, c, gadget(1));
      applied.length = 0;
      const outcomes = await Promise.allSettled([
        consumer.handle({ lease: leases[0], events: [a2] }),
        consumer.handle({ lease: leases[1], events: [b2] }),
        consumer.handle({ lease: leases[2], events: [c1] }),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // The joint transaction fails on the poison and rolls back; each batch is then applied on its own, at once.
      expect(applied[0]).toEqual([a2.position, b2.position, c1.position]);
      expect(applied.slice(1)).toHaveLength(3);
      expect(applied.slice(1)).toEqual(expect.arrayContaining([[a2.position], [b2.position], [c1.position]]));
      expect(await checkpoints(pool, group)).toEqual({ 0: a2.position, 1: b1.position, 2: c1.position });
      expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([a0, b0, c0, a1, b1, a2, c1].map((event) => event.position));
    });

    it('blocks only the poisoned partition under policy block, and applies the event once after the fix and resume', async () => {
      const projection = failingProjection('gadgets_blocking', 'block', 'blocking');
      const group = consumerGroupOf(projection);
      const { leases, alerts, consumer } = await setUp(projection, 2);
      const taken = new Set<string>();
      const [poisoned, neighbour, other] = [streamOn('blocking', 0, 2, taken), streamOn('blocking', 0, 2, taken), streamOn('blocking', 1, 2, taken)];
      const a0 = await appendOne(given.store, poisoned, gadget(0));
      const b0 = await appendOne(given.store, other, gadget(0));
      const a1 = await appendOne(given.store, poisoned, gadget(1, true));
      const n0 = await appendOne(given.store, neighbour, gadget(0));
      const b1 = await appendOne(given.store, other, gadget(1));
      const a2 = await appendOne(given.store, poisoned, gadget(2));
      const partition0 = { lease: leases[0], events: [a0, a1, n0, a2] };

      await expect(consumer.handle(partition0)).rejects.toThrow(`${poisoned}@1 is poison`);
      await expect(consumer.handle({ lease: leases[1], events: [b0, b1] })).resolves.toBe('applied');
      await expect(consumer.handle(partition0)).resolves.toBe('blocked');
      expect(alerts).toEqual([expect.stringMatching(new RegExp(`GadgetChanged at position ${a1.position} failed 2 times .*partition 0 is blocked .*tidings projections resume gadgets_blocking`))]);

      expect(await checkpoints(pool, group)).toEqual({ 0: a0.position, 1: b1.position });
      const [blocked] = await projectionStatuses(pool, given.store, [projection]);
      expect(blocked).toMatchObject({ name: projection.name, version: 1, status: 'blocked' });
      expect(blocked.partitions).toEqual([
        {
          partition: 0,
          category: 'blocking',
          position: a0.position,
          member: leases[0].member,
          blocked: { position: a1.position, error: `GadgetChanged ${a1.eventId}: ${poisoned}@1 is poison`, since: expect.any(Date) },
        },
        { partition: 1, category: 'blocking', position: b1.position, member: leases[1].member },
      ]);
      // Given the deployment's partitions, every one is listed: one held by a member that has applied nothing yet, and one nobody holds, at position 0.
      await pool.query("INSERT INTO consumer_leases (consumer_group, partition, member, expires_at) VALUES ($1, 2, 'member-late', now() + interval '1 minute')", [group]);
      const [everyPartition] = await projectionStatuses(pool, given.store, [projection], { partitions: 4 });
      expect(everyPartition.partitions.map(({ partition, position, member }) => ({ partition, position, member }))).toEqual([
        { partition: 0, position: a0.position, member: leases[0].member },
        { partition: 1, position: b1.position, member: leases[1].member },
        { partition: 2, position: 0n, member: 'member-late' },
        { partition: 3, position: 0n, member: undefined },
      ]);
      await pool.query('DELETE FROM consumer_leases WHERE consumer_group = $1 AND partition = 2', [group]);

      const b2 = await appendOne(given.store, other, gadget(2));
      await expect(consumer.handle({ lease: leases[1], events: [b1, b2] })).resolves.toBe('applied');
      projection.poisonous = false;
      await expect(consumer.handle(partition0)).resolves.toBe('blocked');
      expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([a0.position, b0.position, b1.position, b2.position]);

      await expect(resumeProjection(pool, projection)).resolves.toBe(1);
      await expect(consumer.handle(partition0)).resolves.toBe('applied');
      await expect(consumer.handle(partition0)).resolves.toBe('applied');

      expect((await recordedRows(pool, projection)).map((row) => row.position)).toEqual([
        a0.position,
        b0.position,
        b1.position,
        b2.position,
        a1.position,
        n0.position,
        a2.position,
      ]);
      expect(await checkpoints(pool, group)).toEqual({ 0: a2.position, 1: b2.position });
      const [resumed] = await projectionStatuses(pool, given.store, [projection]);
      expect(resumed.status).toBe('running');
      expect(resumed.partitions.map((partition) => partition.blocked)).toEqual([undefined, undefined]);
    });

    it('parks a poison event and the later events of its stream under policy park, and replays them once in order after the fix', async () => {
      const projection = failingProjection('gadgets_parking', 'park', 'parking');
      const group = consumerGroupOf(projection);
      const { leases, consumer } = await setUp(projection, 2);
      const taken = new Set<string>();
      const [poisoned, neighbour, other] = [streamOn('parking', 0, 2, taken), streamOn('parking', 0, 2, taken), streamOn('parking', 1, 2, taken)];
      const a0 = await appendOne(given.store, poisoned, gadget(0));
      const n0 = await appendOne(given.store, neighbour, gadget(0));
      const a1 = await appendOne(given.store, poisoned, gadget(1, true));
      const n1 = await appendOne(given.store, neighbour, gadget(1));
      const a2 = await appendOne(given.store, poisoned, gadget(2));
      const c0 = await appendOne(given.store, other, gadget(0, true));
      const applied = async () => (await recordedRows(pool, projection)).map((row) => row.position);

      const first = { lease: leases[0], events: [a0, n0, a1, n1, a2] };
      await expect(consumer.handle(first)).rejects.toThrow(`${poisoned}@1 is poison`);
      await expect(consumer.handle(first)).resolves.toBe('applied');
      await expect(consumer.handle({ lease: leases[1], events: [c0] })).rejects.toThrow(`${other}@0 is poison`);
      await expect(consumer.handle({ lease: leases[1], events: [c0] })).resolves.toBe('applied');
      const a3 = await appendOne(given.store, poisoned, gadget(3));
      const n2 = await appendOne(given.store, neighbour, gadget(2));
      // a2 comes again (its ack was lost) ahead of the new messages.
      await expect(consumer.handle({ lease: leases[0], events: [a2, a3, n2] })).resolves.toBe('applied');

      expect(await applied()).toEqual([a0.position, n0.position, n1.position, n2.position]);
      expect(await checkpoints(pool, group)).toEqual({ 0: n2.position, 1: c0.position });
      const parked = await listDeadLetters(pool, group);
      expect(parked.map(({ eventId, streamId, partition, position, attempts, error }) => ({ eventId, streamId, partition, position, attempts, error }))).toEqual([
        { eventId: a1.eventId, streamId: poisoned, partition: 0, position: a1.position, attempts: 2, error: `${poisoned}@1 is poison` },
        { eventId: a2.eventId, streamId: poisoned, partition: 0, position: a2.position, attempts: 0, error: `waits behind an earlier dead letter of ${poisoned}` },
        { eventId: c0.eventId, streamId: other, partition: 1, position: c0.position, attempts: 2, error: `${other}@0 is poison` },
        { eventId: a3.eventId, streamId: poisoned, partition: 0, position: a3.position, attempts: 0, error: `waits behind an earlier dead letter of ${poisoned}` },
      ]);
      const [status] = await projectionStatuses(pool, given.store, [projection]);
      expect(status).toMatchObject({ status: 'running', deadLetters: 4 });
      const [deadA1, deadA2, deadC0, deadA3] = parked;

      await expect(replayDeadLetter(pool, deadA2.id, () => projection)).rejects.toBeInstanceOf(DeadLetterOutOfOrder);
      await expect(replayDeadLetter(pool, deadA3.id, () => projection)).rejects.toBeInstanceOf(DeadLetterOutOfOrder);
      await expect(replayDeadLetter(pool, deadA1.id, () => projection)).rejects.toThrow(`${poisoned}@1 is poison`);
      expect(await listDeadLetters(pool, group)).toHaveLength(4);

      await expect(dropDeadLetter(pool, deadC0.id)).resolves.toMatchObject({ id: deadC0.id, eventId: c0.eventId });
      projection.poisonous = false;
      await expect(replayDeadLetter(pool, deadA1.id, () => projection)).resolves.toBe(3);
      await expect(replayDeadLetter(pool, deadA1.id, () => projection)).rejects.toBeInstanceOf(DeadLetterNotFound);
      await expect(dropDeadLetter(pool, deadC0.id)).rejects.toBeInstanceOf(DeadLetterNotFound);
      expect(await listDeadLetters(pool, group)).toEqual([]);
      expect(await applied()).toEqual([a0.position, n0.position, n1.position, n2.position, a1.position, a2.position, a3.position]);

      // Neither stream waits any more: their next events apply live, and redelivered old ones change nothing.
      const a4 = await appendOne(given.store, poisoned, gadget(4));
      const c1 = await appendOne(given.store, other, gadget(1));
      await expect(consumer.handle({ lease: leases[0], events: [...first.events, a4] })).resolves.toBe('applied');
      await expect(consumer.handle({ lease: leases[1], events: [c0, c1] })).resolves.toBe('applied');
      expect(await applied()).toEqual([a0.position, n0.position, n1.position, n2.position, a1.position, a2.position, a3.position, a4.position, c1.position]);
      expect(await checkpoints(pool, group)).toEqual({ 0: a4.position, 1: c1.position });
      expect(await listDeadLetters(pool, group)).toEqual([]);
    });
  });
});
