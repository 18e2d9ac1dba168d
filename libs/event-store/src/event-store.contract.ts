import { randomUUID } from 'node:crypto';
import {
  EventIdConflict,
  WrongExpectedVersion,
  uuidV7Ids,
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
} from '@tidings/core';
import { eventually } from '@tidings/testing';

/** An append that has taken its place in `$all` but is not committed yet. */
export type OpenAppend = Readonly<{ commit(): Promise<void>; rollback(): Promise<void> }>;

export type ContractHarness = Readonly<{
  store: EventStore;
  /** Begins an append that takes its position now and commits or rolls back only when told. */
  beginOpenAppend(streamId: string, events: readonly EventToAppend[]): Promise<OpenAppend>;
  /**
   * Whether an event id stored in one stream is refused in another (PostgreSQL's unique
   * `event_id`). ARCHITECTURE's port asks only that a repeat in its own stream changes nothing;
   * EventStoreDB allows an id in several streams.
   */
  eventIdsUniqueAcrossStreams: boolean;
  /** Another store on the same database or server, for a test that closes it. */
  openAnother(): EventStore;
  close(): Promise<void>;
}>;

export const testEvent = (type = 'SomethingHappened', data: Record<string, unknown> = {}): EventToAppend => ({
  eventId: uuidV7Ids.next(),
  type,
  data,
  metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'contract-test', schemaVersion: 1 },
});

const events = (count: number, type = 'SomethingHappened') =>
  Array.from({ length: count }, (_, i) => testEvent(type, { i }));

/** Collects what a subscription delivers, for the streams of one test, until stopped. */
export function collect(store: EventStore, fromPosition: bigint, prefix: string) {
  const received: RecordedEvent[] = [];
  const subscription = store.subscribeToAll({ fromPosition });
  const done = (async () => {
    for await (const page of subscription) received.push(...page.filter((event) => event.streamId.startsWith(prefix)));
  })();
  return { received, stop: async () => (await subscription.close(), await done) };
}

/** Each event once, in position order, and each stream's versions 0..n without gaps. */
export const expectOrderedOnce = (received: readonly RecordedEvent[]) => {
  expect(new Set(received.map((event) => event.eventId)).size).toBe(received.length);
  for (let i = 1; i < received.length; i++) expect(received[i].position > received[i - 1].position).toBe(true);
  const nextVersion = new Map<string, number>();
  for (const event of received) {
    expect(event.streamVersion).toBe(nextVersion.get(event.streamId) ?? 0);
    nextVersion.set(event.streamId, event.streamVersion + 1);
  }
};

/** The behaviour every EventStore adapter must have (ARCHITECTURE §3). */
export function eventStoreContract(open: () => Promise<ContractHarness>): void {
  let harness: ContractHarness;
  let store: EventStore;
  let prefix: string;
  const stream = (name: string) => `${prefix}${name}`;

  beforeAll(async () => {
    harness = await open();
    store = harness.store;
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    prefix = `contract${randomUUID().replaceAll('-', '').slice(0, 12)}-`;
  });

  describe('append and read', () => {
    it('stores events with 0-based versions and reads them back as envelopes', async () => {
      const written = events(3);
      const result = await store.append(stream('a'), written, { expectedVersion: 'no_stream' });
      const read = await store.readStream(stream('a'));

      expect(result.nextExpectedVersion).toBe(2);
      expect(read.map((event) => event.streamVersion)).toEqual([0, 1, 2]);
      expect(read.map((event) => event.eventId)).toEqual(written.map((event) => event.eventId));
      expect(read[2].position).toBe(result.position);
      expect(read[0]).toMatchObject({ streamId: stream('a'), type: 'SomethingHappened', data: { i: 0 }, metadata: written[0].metadata });
      expect(read[0].recordedAt).toBeInstanceOf(Date);
    });

    it('reads a stream from a version, and an unknown stream as empty', async () => {
      await store.append(stream('a'), events(5), { expectedVersion: 'no_stream' });
      expect((await store.readStream(stream('a'), { fromVersion: 3 })).map((event) => event.streamVersion)).toEqual([3, 4]);
      expect(await store.readStream(stream('missing'))).toEqual([]);
    });

    it('reads $all after a position, in order, a page at a time', async () => {
      const start = await store.headPosition();
      await store.append(stream('a'), events(3), { expectedVersion: 'no_stream' });
      await store.append(stream('b'), events(2), { expectedVersion: 'no_stream' });
      // $all shows an append once every transaction that began before it has ended.
      const all = await eventually(async () => {
        const read = (await store.readAll({ fromPosition: start, limit: 1_000 })).filter((event) => event.streamId.startsWith(prefix));
        expect(read.map((event) => [event.streamId, event.streamVersion])).toEqual([
          [stream('a'), 0], [stream('a'), 1], [stream('a'), 2], [stream('b'), 0], [stream('b'), 1],
        ]);
        return read;
      });
      const afterFirst = await store.readAll({ fromPosition: all[0].position, limit: 2 });
      expect(afterFirst.map((event) => event.eventId)).toEqual([all[1].eventId, all[2].eventId]);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(all[4].position);
    });
  });

  describe('close', () => {
    it('lets appends and reads in flight finish, then refuses new ones', async () => {
      const closing = harness.openAnother();
      await closing.append(stream('warm'), events(1), { expectedVersion: 'no_stream' });
      const appends = Array.from({ length: 5 }, (_, i) => closing.append(stream(`closing-${i}`), events(3), { expectedVersion: 'no_stream' }));
      const read = closing.readStream(stream('warm'));
      await closing.close();

      for (const appended of await Promise.all(appends)) expect(appended.nextExpectedVersion).toBe(2);
      expect(await read).toHaveLength(1);
      for (let i = 0; i < 5; i++) expect(await store.readStream(stream(`closing-${i}`))).toHaveLength(3);
      await expect(closing.append(stream('after'), events(1), { expectedVersion: 'any' })).rejects.toThrow(/closed/);
      expect(await store.readStream(stream('after'))).toEqual([]);
    });
  });

  describe('expected version', () => {
    it.each([
      ['no_stream on an existing stream', 'no_stream' as const, 1],
      ['a stale exact version', 0, 1],
      ['a future exact version', 5, 1],
    ])('refuses %s with WrongExpectedVersion and the actual version', async (_, expectedVersion, actual) => {
      await store.append(stream('a'), events(2), { expectedVersion: 'no_stream' });
      const refused = store.append(stream('a'), events(1), { expectedVersion });
      await expect(refused).rejects.toBeInstanceOf(WrongExpectedVersion);
      await expect(refused).rejects.toMatchObject({ streamId: stream('a'), actual });
      expect(await store.readStream(stream('a'))).toHaveLength(2);
    });

    it('refuses stream_exists on a missing stream and accepts it on an existing one', async () => {
      await expect(store.append(stream('a'), events(1), { expectedVersion: 'stream_exists' })).rejects.toMatchObject({ actual: -1 });
      await store.append(stream('a'), events(1), { expectedVersion: 'no_stream' });
      await expect(store.append(stream('a'), events(1), { expectedVersion: 'stream_exists' })).resolves.toMatchObject({ nextExpectedVersion: 1 });
    });

    it('accepts any version with any, and the exact current version', async () => {
      await store.append(stream('a'), events(1), { expectedVersion: 'any' });
      await store.append(stream('a'), events(1), { expectedVersion: 'any' });
      await expect(store.append(stream('a'), events(1), { expectedVersion: 1 })).resolves.toMatchObject({ nextExpectedVersion: 2 });
    });

    it('lets exactly one of 32 racing writers per stream and round win; every loser gets WrongExpectedVersion', async () => {
      const streams = Array.from({ length: 10 }, (_, i) => stream(`race-${i}`));
      const writers = Array.from({ length: 32 }, (_, i) => streams[i % streams.length]);
      let wins = 0;
      for (let round = 0; round < 5; round++) {
        const versions = await Promise.all(writers.map(async (id) => (await store.readStream(id)).length - 1));
        const outcomes = await Promise.allSettled(
          writers.map((id, i) => store.append(id, events(1), { expectedVersion: versions[i] === -1 ? 'no_stream' : versions[i] })),
        );
        const won = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
        const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
        expect(won).toBe(streams.length);
        expect(lost).toHaveLength(writers.length - streams.length);
        for (const outcome of lost) expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersion);
        wins += won;
      }
      let stored = 0;
      for (const id of streams) {
        const versions = (await store.readStream(id)).map((event) => event.streamVersion);
        expect(versions).toEqual(versions.map((_, i) => i));
        stored += versions.length;
      }
      expect(stored).toBe(wins);
    });
  });

  describe('idempotency', () => {
    it('treats re-appending stored event ids with the same content as a no-op', async () => {
      const written = events(2);
      const first = await store.append(stream('a'), written, { expectedVersion: 'no_stream' });
      const again = await store.append(stream('a'), written, { expectedVersion: 'no_stream' });
      const againAny = await store.append(stream('a'), written, { expectedVersion: 'any' });

      expect(again).toEqual(first);
      expect(againAny).toEqual(first);
      expect(await store.readStream(stream('a'))).toHaveLength(2);
    });

    it('stores events once when the same append arrives twice at the same moment', async () => {
      const written = events(3);
      const [one, two] = await Promise.all([
        store.append(stream('a'), written, { expectedVersion: 'no_stream' }),
        store.append(stream('a'), written, { expectedVersion: 'no_stream' }),
      ]);
      expect(one).toEqual(two);
      expect(await store.readStream(stream('a'))).toHaveLength(3);
    });

    it('refuses a different body under a stored event id, and (where ids are unique across streams) another stream', async () => {
      const [stored] = events(1);
      await store.append(stream('a'), [stored], { expectedVersion: 'no_stream' });

      await expect(store.append(stream('a'), [{ ...stored, data: { other: true } }], { expectedVersion: 'any' })).rejects.toBeInstanceOf(EventIdConflict);
      expect(await store.readStream(stream('a'))).toHaveLength(1);
      if (!harness.eventIdsUniqueAcrossStreams) return;
      await expect(store.append(stream('b'), [stored], { expectedVersion: 'any' })).rejects.toBeInstanceOf(EventIdConflict);
      expect(await store.readStream(stream('b'))).toEqual([]);
    });
  });

  describe('subscriptions', () => {
    it('delivers every event once, in order, when a transaction commits late at an early position', async () => {
      const start = await store.headPosition();
      const subscriber = collect(store, start, prefix);
      const late = await harness.beginOpenAppend(stream('late'), events(1, 'CommittedLate'));
      const rolledBack = await harness.beginOpenAppend(stream('rolled-back'), events(1, 'NeverCommitted'));

      const streams = Array.from({ length: 50 }, (_, i) => stream(`s${i}`));
      for (let i = 0; i < 20; i++) {
        await Promise.all(streams.map((id) => store.append(id, events(1), { expectedVersion: i === 0 ? 'no_stream' : i - 1 })));
      }
      await rolledBack.rollback();
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // the late transaction stays open 3 s
      await late.commit();

      await eventually(() => expect(subscriber.received).toHaveLength(1_001), { timeoutMs: 15_000 });
      await subscriber.stop();
      expectOrderedOnce(subscriber.received);
      expect(subscriber.received.filter((event) => event.type === 'CommittedLate')).toHaveLength(1);
      expect(subscriber.received.filter((event) => event.type === 'NeverCommitted')).toHaveLength(0);
    });

    it('is not held up by an append that rolled back', async () => {
      const start = await store.headPosition();
      const subscriber = collect(store, start, prefix);
      const rolledBack = await harness.beginOpenAppend(stream('rolled-back'), events(1, 'NeverCommitted'));
      await store.append(stream('after'), events(3), { expectedVersion: 'no_stream' });
      await rolledBack.rollback();

      await eventually(() => expect(subscriber.received).toHaveLength(3));
      await subscriber.stop();
      expect(subscriber.received.map((event) => event.streamId)).toEqual([stream('after'), stream('after'), stream('after')]);
    });

    it('catches up, then delivers live appends', async () => {
      const start = await store.headPosition();
      await store.append(stream('before'), events(5), { expectedVersion: 'no_stream' });
      const subscriber = collect(store, start, prefix);
      await eventually(() => expect(subscriber.received).toHaveLength(5));
      await store.append(stream('live'), events(2), { expectedVersion: 'no_stream' });

      await eventually(() => expect(subscriber.received).toHaveLength(7));
      await subscriber.stop();
      expectOrderedOnce(subscriber.received);
    });

    it('resumes exactly after a checkpoint when restarted', async () => {
      const start = await store.headPosition();
      for (let i = 0; i < 4; i++) await store.append(stream(`s${i}`), events(5), { expectedVersion: 'no_stream' });
      const first = collect(store, start, prefix);
      await eventually(() => expect(first.received.length).toBeGreaterThanOrEqual(7));
      await first.stop();
      const checkpoint = first.received[6].position;

      const resumed = collect(store, checkpoint, prefix);
      await eventually(() => expect(resumed.received).toHaveLength(13));
      await resumed.stop();
      const all = (await store.readAll({ fromPosition: start, limit: 1_000 })).filter((event) => event.streamId.startsWith(prefix));
      expect(all).toHaveLength(20);
      expect([...first.received.slice(0, 7), ...resumed.received].map((event) => event.eventId)).toEqual(all.map((event) => event.eventId));
    });
  });
}
