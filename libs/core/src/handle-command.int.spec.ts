import { testCommandMetadata, useTestEventStore } from '@tidings/testing';
import { counter, LIMIT, type Increment } from './counter.fixture';
import { BusinessRuleViolation, WrongExpectedVersion } from './errors';
import type { EventStore } from './event-store.port';
import { createCommandHandler } from './handle-command';
import { uuidV7Ids } from './ports';

describe('handleCommand over the PostgreSQL store', () => {
  const given = useTestEventStore();
  let n = 0;
  const streamId = () => `counter-${++n}-${Date.now()}`;
  const increment = (by: number, actor = 'user-1'): Increment => ({
    type: 'Increment',
    data: { by },
    metadata: testCommandMetadata({ commandId: uuidV7Ids.next(), actor }),
  });
  /** The real store, counted: every read and append still goes to PostgreSQL. */
  const counted = () => {
    const calls = { reads: 0, appends: 0 };
    const store: EventStore = Object.assign(Object.create(given.store) as EventStore, {
      readStream: (...args: Parameters<EventStore['readStream']>) => (calls.reads++, given.store.readStream(...args)),
      append: (...args: Parameters<EventStore['append']>) => (calls.appends++, given.store.append(...args)),
    });
    return { store, calls };
  };


  it('appends the decided events with metadata from the command, and returns version and position', async () => {
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    const id = streamId();
    await handle(counter, id, increment(2));
    const command = increment(3, 'user-7');
    const result = await handle(counter, id, command);

    const stored = await given.store.readStream(id);
    expect(result).toMatchObject({ state: { count: 5 }, version: 1, position: stored[1].position });
    expect(stored[1].metadata).toEqual({
      correlationId: command.metadata.correlationId,
      causationId: command.metadata.commandId,
      actor: 'user-7',
      schemaVersion: 1,
    });
  });

  it('serves 40 concurrent commands on one stream from two processes: none lost, versions 0..39', async () => {
    const processes = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const id = streamId();
    await Promise.all(Array.from({ length: 40 }, (_, i) => processes[i % 2](counter, id, increment(1))));

    const stored = await given.store.readStream(id);
    expect(stored.map((event) => event.streamVersion)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('applies a command id once: the same command again (from another process) appends nothing and answers the first position', async () => {
    const [one, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const id = streamId();
    const command = increment(4);
    const first = await one(counter, id, command);
    await one(counter, id, increment(1));
    const again = await other(counter, id, command);

    expect(again).toMatchObject({ events: [], state: { count: 5 }, version: 1, position: first.position });
    expect(await given.store.readStream(id)).toHaveLength(2);
  });

  it('refuses a stale If-Match version without deciding again', async () => {
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    const id = streamId();
    await handle(counter, id, increment(1));
    await handle(counter, id, increment(1));

    await expect(handle(counter, id, increment(1), { expectedVersion: 0 })).rejects.toBeInstanceOf(WrongExpectedVersion);
    await expect(handle(counter, id, increment(1), { expectedVersion: 1 })).resolves.toMatchObject({ version: 2 });
  });

  it('answers a command with If-Match on a stream with no events with its decider’s refusal, else with the version conflict', async () => {
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    const id = streamId();
    // As a like of a post that does not exist: the decider's "not found" says more than "expected version 0".
    await expect(handle(counter, id, increment(LIMIT + 1), { expectedVersion: 0 })).rejects.toMatchObject({ code: 'limit-exceeded' });
    await expect(handle(counter, id, increment(1), { expectedVersion: 0 })).rejects.toBeInstanceOf(WrongExpectedVersion);
    expect(await given.store.readStream(id)).toEqual([]);
  });

  it('answers a command with If-Match that it has applied as it did, though its own events moved the version (a request retried after a crash)', async () => {
    const [one, other, cold] = [1, 2, 3].map(() => createCommandHandler({ store: given.store, ids: uuidV7Ids }));
    const id = streamId();
    // `other` has the stream cached at version 0, the version the command expects.
    await other(counter, id, increment(1));
    const command = increment(2);
    const first = await one(counter, id, command, { expectedVersion: 0 });

    for (const handle of [one, other, cold]) {
      await expect(handle(counter, id, command, { expectedVersion: 0 })).resolves.toMatchObject({ events: [], repeated: true, position: first.position });
    }
    expect(await given.store.readStream(id)).toHaveLength(2);
    // Another command at that version is refused as before.
    await expect(other(counter, id, increment(2), { expectedVersion: 0 })).rejects.toBeInstanceOf(WrongExpectedVersion);
  });

  it('appends nothing when the decider refuses or decides nothing', async () => {
    const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
    const id = streamId();
    await expect(handle(counter, id, increment(5_000))).rejects.toBeInstanceOf(BusinessRuleViolation);
    await expect(handle(counter, id, increment(0))).resolves.toMatchObject({ version: -1, events: [] });
    expect(await given.store.readStream(id)).toEqual([]);
  });

  it('answers a command that changes nothing with the position that shows the state it was decided on', async () => {
    const [one, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const id = streamId();
    await one(counter, id, increment(2));
    const last = await other(counter, id, increment(3));
    // Decided on a cached stream and on a freshly read one: the stream's last event either way.
    await expect(one(counter, id, increment(0))).resolves.toEqual({ events: [], state: { count: 5 }, version: 1, position: last.position });
    await expect(createCommandHandler({ store: given.store, ids: uuidV7Ids })(counter, id, increment(0))).resolves.toMatchObject({ version: 1, position: last.position });
    // In a batch that appends, the append shows it.
    const [appended, unchanged] = await Promise.all([other(counter, id, increment(1)), other(counter, id, increment(0))]);
    expect(unchanged).toMatchObject({ events: [], state: { count: 6 }, position: appended.position });
  });

  it('appends to a stream said to be likely new without reading it, and decides again on the store when it was not new', async () => {
    const { store, calls } = counted();
    const [guessing, other] = [createCommandHandler({ store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
    const fresh = streamId();
    await expect(guessing(counter, fresh, increment(2), { likelyNew: true })).resolves.toMatchObject({ state: { count: 2 }, version: 0 });
    expect(calls.reads).toBe(0);

    const existing = streamId();
    const placed = increment(5);
    await other(counter, existing, placed);
    await expect(guessing(counter, existing, increment(1), { likelyNew: true })).resolves.toMatchObject({ state: { count: 6 }, version: 1 });
    // A retry of the command that made the stream (the same command id) is recognised, not applied again.
    await expect(createCommandHandler({ store: given.store, ids: uuidV7Ids })(counter, existing, placed, { likelyNew: true })).resolves.toMatchObject({ events: [], version: 1 });
    expect(calls.reads).toBe(1);
    expect((await given.store.readStream(existing)).map((event) => event.data)).toMatchObject([{ by: 5 }, { by: 1 }]);
  });

  describe('commands that queue on a stream while an append to it is in flight', () => {
    it('go out together in the next append, each decided on the state the ones before it leave', async () => {
      const { store, calls } = counted();
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      const id = streamId();
      const commands = Array.from({ length: 30 }, (_, i) => increment(i + 1));
      const results = await Promise.all(commands.map((command) => handle(counter, id, command)));

      // The first alone (the stream was new); the 29 that queued behind it in one append, from what it left (no read).
      expect(calls).toEqual({ reads: 1, appends: 2 });
      expect(results.map(({ version }) => version)).toEqual(commands.map((_, i) => i));
      expect(results.map(({ state }) => state.count)).toEqual(commands.map((_, i) => ((i + 1) * (i + 2)) / 2));
      const stored = await given.store.readStream(id);
      expect(stored.map((event) => event.metadata.causationId)).toEqual(commands.map((command) => command.metadata.commandId));
      // Each answer's position shows its own event: it is that of the append that carried it.
      results.forEach(({ events, position }, i) => {
        expect(events).toHaveLength(1);
        expect(position).toBe(i === 0 ? stored[0].position : stored[29].position);
      });
    });

    it('refuse only the command the rule refuses: those before and after it are appended', async () => {
      const { store, calls } = counted();
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      const id = streamId();
      // +995 goes alone; the rest queue behind it and are decided in turn: 996, 998, no room for +5, and the +2 after it ends at the limit.
      const outcomes = await Promise.allSettled([increment(995), increment(1), increment(2), increment(5), increment(2)].map((command) => handle(counter, id, command)));

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(BusinessRuleViolation);
      expect((outcomes[4] as PromiseFulfilledResult<{ state: { count: number }; version: number }>).value).toMatchObject({ state: { count: 1_000 }, version: 3 });
      expect((await given.store.readStream(id)).map((event) => event.data)).toMatchObject([{ by: 995 }, { by: 1 }, { by: 2 }, { by: 2 }]);
      // One append for the four behind the first; the refusal, decided on the cache, was checked on the store first.
      expect(calls).toEqual({ reads: 2, appends: 2 });
    });

    it('apply a command id once when it comes twice in one batch: the second answer is the first append', async () => {
      const { store, calls } = counted();
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      const id = streamId();
      const twice = increment(7);
      const [, , first, second] = await Promise.all([increment(1), increment(1), twice, twice].map((command) => handle(counter, id, command)));

      expect(first).toMatchObject({ state: { count: 9 }, version: 2 });
      expect(first.events).toHaveLength(1);
      expect(second).toMatchObject({ events: [], state: { count: 9 }, version: 2, position: first.position });
      expect(await given.store.readStream(id)).toHaveLength(3);
      expect(calls.appends).toBe(2);
    });

    it('fail alone when the store refuses their events: the others of the batch are appended', async () => {
      const unstorable = Object.assign(new Error('value too long'), { code: '22001' });
      // The real store, refusing any append that carries an increment of 13 (as it would a value too long for its column).
      const store: EventStore = Object.assign(Object.create(given.store) as EventStore, {
        append: (...args: Parameters<EventStore['append']>) =>
          args[1].some((event) => (event.data as { by: number }).by === 13) ? Promise.reject(unstorable) : given.store.append(...args),
      });
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      const id = streamId();
      const outcomes = await Promise.allSettled([increment(1), increment(2), increment(13), increment(3)].map((command) => handle(counter, id, command)));

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[2] as PromiseRejectedResult).reason).toBe(unstorable);
      expect((await given.store.readStream(id)).map((event) => event.data)).toMatchObject([{ by: 1 }, { by: 2 }, { by: 3 }]);
    });

    it('fail alone when their aggregate cannot fold their events, and nothing of theirs is stored', async () => {
      const foldsNoSeven: typeof counter = {
        ...counter,
        evolve: (state, event) => {
          if (event.data.by === 7) throw new Error('cannot fold an increment of 7');
          return counter.evolve(state, event);
        },
      };
      const handle = createCommandHandler({ store: given.store, ids: uuidV7Ids });
      const id = streamId();
      const outcomes = await Promise.allSettled([increment(1), increment(2), increment(7), increment(3)].map((command) => handle(foldsNoSeven, id, command)));

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[3] as PromiseFulfilledResult<{ state: { count: number } }>).value.state).toEqual({ count: 6 });
      expect((await given.store.readStream(id)).map((event) => event.data)).toMatchObject([{ by: 1 }, { by: 2 }, { by: 3 }]);
    });

    it('end at a read of the stream or at a command with If-Match: each sees what was queued before it', async () => {
      const { store, calls } = counted();
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      const id = streamId();
      const [a, b, seen, c, d] = await Promise.all([
        handle(counter, id, increment(1)),
        handle(counter, id, increment(2)),
        handle.current(counter, id),
        handle(counter, id, increment(3)),
        handle(counter, id, increment(4), { expectedVersion: 2 }),
      ]);

      expect([a, b, c, d].map(({ version, state }) => [version, state.count])).toEqual([
        [0, 1],
        [1, 3],
        [2, 6],
        [3, 10],
      ]);
      expect(seen).toEqual({ state: { count: 3 }, version: 1 });
      expect(calls.appends).toBe(4);
    });

    it('are decided again, all of them, when their append loses a race with another process', async () => {
      const id = streamId();
      const other = createCommandHandler({ store: given.store, ids: uuidV7Ids });
      let appends = 0;
      // The real store; just before this process's second append, another process appends.
      const store: EventStore = Object.assign(Object.create(given.store) as EventStore, {
        append: async (...args: Parameters<EventStore['append']>) => {
          if (++appends === 2) await other(counter, id, increment(990));
          return given.store.append(...args);
        },
      });
      const batching = createCommandHandler({ store, ids: uuidV7Ids });
      // +1 goes alone; the four behind it are decided together on what it left (1): all fit. The store then holds 991: +5 does not.
      const outcomes = await Promise.allSettled([increment(1), increment(2), increment(3), increment(5), increment(4)].map((command) => batching(counter, id, command)));

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(BusinessRuleViolation);
      expect((outcomes[4] as PromiseFulfilledResult<{ state: { count: number }; version: number }>).value).toMatchObject({ state: { count: 1_000 }, version: 4 });
      expect((await given.store.readStream(id)).map((event) => event.data)).toMatchObject([{ by: 1 }, { by: 990 }, { by: 2 }, { by: 3 }, { by: 4 }]);
      // The first, the batch refused for its expected version, the batch decided again.
      expect(appends).toBe(3);
    });
  });

  describe('with the stream cached from an earlier command', () => {
    it('decides on what another process appended since: its rule sees the current count', async () => {
      const [cached, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
      const id = streamId();
      await cached(counter, id, increment(1));
      await other(counter, id, increment(998));
      // The cache says 1; the store says 999: one more fits, two do not.
      await expect(cached(counter, id, increment(2))).rejects.toBeInstanceOf(BusinessRuleViolation);
      await expect(cached(counter, id, increment(1))).resolves.toMatchObject({ state: { count: 1_000 }, version: 2 });
      expect((await given.store.readStream(id)).map((event) => event.streamVersion)).toEqual([0, 1, 2]);
    });

    it('does not refuse on what it cached when the store since allows it', async () => {
      const [cached, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
      const id = streamId();
      await cached(counter, id, increment(1_000));
      await other(counter, id, increment(-500));
      // The cache says 1000, at the limit; the store says 500.
      await expect(cached(counter, id, increment(1))).resolves.toMatchObject({ state: { count: 501 }, version: 2 });
    });

    it('recognises a command another process applied since, and appends nothing', async () => {
      const [cached, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
      const id = streamId();
      await cached(counter, id, increment(1));
      const command = increment(2);
      const first = await other(counter, id, command);
      await expect(cached(counter, id, command)).resolves.toMatchObject({ events: [], state: { count: 3 }, version: 1, position: first.position });
      expect(await given.store.readStream(id)).toHaveLength(2);
    });

    it('refuses an If-Match that the cache would accept but the store has moved past', async () => {
      const [cached, other] = [createCommandHandler({ store: given.store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
      const id = streamId();
      await cached(counter, id, increment(1));
      await other(counter, id, increment(1));
      await expect(cached(counter, id, increment(1), { expectedVersion: 0 })).rejects.toBeInstanceOf(WrongExpectedVersion);
      await expect(cached(counter, id, increment(1), { expectedVersion: 1 })).resolves.toMatchObject({ version: 2, state: { count: 3 } });
    });

    it('current: folds what the store holds now, from the version last seen, and the next command starts from it without reading', async () => {
      const { store, calls } = counted();
      const [looking, other] = [createCommandHandler({ store, ids: uuidV7Ids }), createCommandHandler({ store: given.store, ids: uuidV7Ids })];
      const id = streamId();
      await expect(looking.current(counter, id)).resolves.toEqual({ state: { count: 0 }, version: -1 });
      await other(counter, id, increment(2));
      await other(counter, id, increment(3));
      await expect(looking.current(counter, id)).resolves.toEqual({ state: { count: 5 }, version: 1 });
      await expect(looking(counter, id, increment(1))).resolves.toMatchObject({ state: { count: 6 }, version: 2 });
      expect(calls.reads).toBe(2);
    });

    it('shares the stream among the deciders of one aggregate: another decider starts from the last append, without a read or a refused append', async () => {
      const { store, calls } = counted();
      const handle = createCommandHandler({ store, ids: uuidV7Ids });
      // Another way to change a counter (as commit-stock is to reserve-stock): same fold, other decisions.
      const doubler: typeof counter = { ...counter, decide: (command, state) => counter.decide({ ...command, data: { by: state.count } }, state) };
      const id = streamId();
      await handle(counter, id, increment(3));
      await expect(handle(doubler, id, increment(0))).resolves.toMatchObject({ state: { count: 6 }, version: 1 });
      await expect(handle(counter, id, increment(1))).resolves.toMatchObject({ state: { count: 7 }, version: 2 });

      expect(calls).toEqual({ reads: 1, appends: 3 });
      expect((await given.store.readStream(id)).map((event) => event.data)).toMatchObject([{ by: 3 }, { by: 3 }, { by: 1 }]);
    });
  });
});
