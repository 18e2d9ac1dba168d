import { decidedEvents, type Decider } from './decider';
import { WrongExpectedVersion } from './errors';
import type { EventStore, ExpectedVersion } from './event-store.port';
import type { Command, EventToAppend, Message, RecordedEvent } from './message';
import { foldedStreams, foldNewer, type FoldedStream } from './folded-streams';
import type { IdGenerator } from './ports';

export type CommandHandlerDeps = Readonly<{
  store: EventStore;
  ids: IdGenerator;
  /** How many times a command is decided again after losing an optimistic-concurrency race. */
  maxAttempts?: number;
  /** Streams whose folded state is kept between commands, per decider (the least recently used are forgotten). */
  cachedStreams?: number;
}>;

export type CommandOptions = Readonly<{
  /** The version the caller saw (`If-Match`); when given, a race is the caller's to resolve. */
  expectedVersion?: number;
  /**
   * The stream's id was just made (a new order, an order's payments): decide on the empty stream
   * without reading it. If it had events after all, the append is refused and the command is
   * decided again on what the store holds, as after any race.
   */
  likelyNew?: boolean;
}>;

export type CommandResult<State, E extends Message> = Readonly<{
  events: readonly EventToAppend<E>[];
  state: State;
  /** The stream's version after the command, -1 when it still has no events. */
  version: number;
  /** Position of the last appended event; undefined when the command appended nothing. */
  position?: bigint;
}>;

// Enough for a command to outlast another process that is busy with a queue of its own on the stream.
const DEFAULT_MAX_ATTEMPTS = 20;
const DEFAULT_CACHED_STREAMS = 10_000;

/**
 * The one command path: read the stream, fold it, decide, append with the version that was
 * read. On WrongExpectedVersion another writer got there first: read again and decide again,
 * a bounded number of times. A command whose id already caused events on the stream is not
 * decided again: commands with deterministic ids are idempotent. A stream folded before is
 * read only from the version the process last saw (Marten's and Axon's aggregate cache).
 */
export const createCommandHandler = ({ store, ids, maxAttempts = DEFAULT_MAX_ATTEMPTS, cachedStreams = DEFAULT_CACHED_STREAMS }: CommandHandlerDeps) => {
  const oneAtATime = perKeyQueue();
  const folded = foldedStreams(cachedStreams);

  /**
   * Commands on one stream take turns within this process, so they never race each other;
   * only writers in other processes can make an append lose, and then it is decided again.
   */
  function handleCommand<State, C extends Command, E extends Message>(
    decider: Decider<State, C, E>,
    streamId: string,
    command: C,
    options: CommandOptions = {},
  ): Promise<CommandResult<State, E>> {
    return oneAtATime(streamId, () => decideAndAppend(decider, streamId, command, options));
  }

  /**
   * The stream as the store holds it now, folded as the decider's aggregate folds it: read from
   * the version this process last saw, and kept, so a command that follows (a workflow that
   * looks before it acts) starts from it without reading again.
   */
  function current<State, C extends Command, E extends Message>(decider: Decider<State, C, E>, streamId: string): Promise<Readonly<{ state: State; version: number }>> {
    return oneAtATime(streamId, async () => {
      const { state, version } = await catchUp(decider, streamId, folded.take(decider, streamId));
      return { state, version };
    });
  }

  /** Folds into what this process knew of the stream the events the store holds after it, and keeps the result. */
  async function catchUp<State, C extends Command, E extends Message>(decider: Decider<State, C, E>, streamId: string, known: FoldedStream<State>): Promise<FoldedStream<State>> {
    const newer = (await store.readStream(streamId, { fromVersion: known.version + 1 })) as RecordedEvent<E>[];
    const { state, version, causedBy } = foldNewer(known, newer, decider.evolve);
    folded.keep(decider, streamId, { state, version, causedBy });
    return { state, version, causedBy };
  }

  return Object.assign(handleCommand, { current });

  async function decideAndAppend<State, C extends Command, E extends Message>(
    decider: Decider<State, C, E>,
    streamId: string,
    command: C,
    options: CommandOptions,
  ): Promise<CommandResult<State, E>> {
    const attempts = options.expectedVersion === undefined ? maxAttempts : 1;
    // Only an append proves a cached stream current: a refusal or a no-op decided on it is decided again on what the store holds.
    let verified = false;
    for (let attempt = 1; ; attempt++) {
      const known = folded.take(decider, streamId);
      const trusted = !verified && attempt === 1 && (known.cached || options.likelyNew === true) && (options.expectedVersion === undefined || options.expectedVersion === known.version);
      const { state, version, causedBy } = trusted ? known : await catchUp(decider, streamId, known);
      if (options.expectedVersion !== undefined && options.expectedVersion !== version) {
        throw new WrongExpectedVersion(streamId, options.expectedVersion, version);
      }
      const decision = decideOn(decider, command, state, causedBy);
      if (trusted && ('error' in decision || ('events' in decision && decision.events.length === 0))) {
        verified = true;
        attempt--;
        continue;
      }
      if ('error' in decision) throw decision.error;
      // A command id seen before (a retry under the same Idempotency-Key, a redelivered saga step): already applied.
      if ('earlier' in decision) return { events: [], state, version, position: decision.earlier };
      const decided = decision.events;
      if (decided.length === 0) return { events: [], state, version };

      const events = decided.map((event) => toAppend(event, command, ids));
      const expectedVersion: ExpectedVersion = version === -1 ? 'no_stream' : version;
      try {
        const appended = await store.append(streamId, events, { expectedVersion });
        const after = decided.reduce(decider.evolve, state);
        folded.keep(decider, streamId, { state: after, version: appended.nextExpectedVersion, causedBy: causedBy.set(command.metadata.commandId, appended.position) });
        return { events, state: after, version: appended.nextExpectedVersion, position: appended.position };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion) || attempt >= attempts) throw error;
        // A stale cache or a wrong guess is not a race with another writer: read at once.
        if (!trusted) await backoff(attempt);
      }
    }
  }
};

export type HandleCommand = ReturnType<typeof createCommandHandler>;

type Decision<E> = Readonly<{ events: readonly E[] }> | Readonly<{ earlier: bigint }> | Readonly<{ error: unknown }>;

/** The decider's answer on this state: events to append, an earlier position if the command was applied, or its refusal. */
function decideOn<State, C extends Command, E extends Message>(decider: Decider<State, C, E>, command: C, state: State, causedBy: ReadonlyMap<string, bigint>): Decision<E> {
  const earlier = causedBy.get(command.metadata.commandId);
  if (earlier !== undefined) return { earlier };
  try {
    return { events: decidedEvents(decider.decide(command, state)) };
  } catch (error) {
    return { error };
  }
}

const toAppend = <E extends Message>(event: E, command: Command, ids: IdGenerator): EventToAppend<E> => ({
  ...event,
  eventId: ids.next(),
  metadata: {
    correlationId: command.metadata.correlationId,
    causationId: command.metadata.commandId,
    actor: command.metadata.actor,
    ...(command.metadata.traceparent ? { traceparent: command.metadata.traceparent } : {}),
    schemaVersion: 1,
  },
});

/** Runs work for one key after the work queued before it for that key, whatever its outcome. */
function perKeyQueue() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const result = (tails.get(key) ?? Promise.resolve()).then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
}

/** Jittered so that writers who collided do not collide again in lockstep. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)));
