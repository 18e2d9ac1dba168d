import { decidedEvents, type Decider } from './decider';
import { WrongExpectedVersion } from './errors';
import type { EventStore } from './event-store.port';
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
  /**
   * Position of the last event of the append that carried the command's events (commands
   * batched on one stream share it: waiting for it shows each). For a command that changed
   * nothing, a position that shows the state it was decided on: the stream's last event's (or
   * its batch's append); undefined only while the stream has no events.
   */
  position?: bigint;
  /** The command's id had already caused events on the stream: it was not decided again, and `position` shows what it did then. */
  repeated?: true;
}>;

// Enough for a command to outlast another process that is busy with a queue of its own on the stream.
const DEFAULT_MAX_ATTEMPTS = 20;
const DEFAULT_CACHED_STREAMS = 10_000;
/** Commands that queued on a stream while an append to it was in flight leave together in the next one, up to this many. */
const MAX_COMMANDS_PER_APPEND = 100;

/**
 * The one command path: read the stream, fold it, decide, append with the version that was
 * read. On WrongExpectedVersion another writer got there first: read again and decide again,
 * a bounded number of times. A command whose id already caused events on the stream is not
 * decided again: commands with deterministic ids are idempotent. A stream folded before is
 * read only from the version the process last saw (Marten's and Axon's aggregate cache).
 *
 * Commands on one stream take turns within this process, so they never race each other; only
 * writers in other processes can make an append lose, and then it is decided again. Those that
 * queue while an append to the stream is in flight are decided in turn, each on the state the
 * ones before it leave, and appended together (a hot product's reservations: one round trip for
 * all that waited, not one each). A command refused in turn refuses only itself. When the append
 * loses a race, all are decided again; when it fails otherwise, each goes again on its own, so a
 * command whose events the store refuses fails alone.
 */
export const createCommandHandler = ({ store, ids, maxAttempts = DEFAULT_MAX_ATTEMPTS, cachedStreams = DEFAULT_CACHED_STREAMS }: CommandHandlerDeps) => {
  const folded = foldedStreams(cachedStreams);
  const inTurn = streamTurns(decideAndAppend);

  function handleCommand<State, C extends Command, E extends Message>(
    decider: Decider<State, C, E>,
    streamId: string,
    command: C,
    options: CommandOptions = {},
  ): Promise<CommandResult<State, E>> {
    return new Promise((resolve, reject) => {
      const queued: QueuedCommand<State, C, E> = { decider, command, options, resolve, reject };
      inTurn(streamId, { command: queued as unknown as QueuedCommand });
    });
  }

  /**
   * The stream as the store holds it now, folded as the decider's aggregate folds it: read from
   * the version this process last saw, and kept, so a command that follows (a workflow that
   * looks before it acts) starts from it without reading again.
   */
  function current<State, C extends Command, E extends Message>(decider: Decider<State, C, E>, streamId: string): Promise<Readonly<{ state: State; version: number }>> {
    return new Promise((resolve, reject) => {
      const read = () => catchUp(decider, streamId, folded.take(decider, streamId)).then(({ state, version }) => resolve({ state, version }), reject);
      inTurn(streamId, { read });
    });
  }

  /** Folds into what this process knew of the stream the events the store holds after it, and keeps the result. */
  async function catchUp<State, E extends Message>(fold: Fold<State, E>, streamId: string, known: FoldedStream<State>): Promise<FoldedStream<State>> {
    const newer = (await store.readStream(streamId, { fromVersion: known.version + 1 })) as RecordedEvent<E>[];
    const { state, version, position, causedBy } = foldNewer(known, newer, fold.evolve);
    const caughtUp = { state, version, causedBy, ...(position !== undefined ? { position } : {}) };
    folded.keep(fold, streamId, caughtUp);
    return caughtUp;
  }

  return Object.assign(handleCommand, { current });

  /** Settles every command of the batch (they share their deciders' fold; only a lone one carries an expected version). */
  async function decideAndAppend(streamId: string, commands: readonly QueuedCommand[]): Promise<void> {
    const fold = commands[0].decider;
    const { expectedVersion, likelyNew } = commands[0].options;
    const attempts = expectedVersion === undefined ? maxAttempts : 1;
    // Only an append proves a cached stream current: a refusal or a no-op decided on it is decided again on what the store holds.
    let verified = false;
    for (let attempt = 1; ; attempt++) {
      const known = folded.take(fold, streamId);
      // With If-Match the store is read: a command this process has not seen may have been appended by another since (its retry must be recognised, not refused).
      const trusted = !verified && attempt === 1 && (known.cached || likelyNew === true) && expectedVersion === undefined;
      const base = trusted ? known : await catchUp(fold, streamId, known);
      // A command with If-Match comes alone. Seen before (a request retried after a crash), it answers what it did: its own events moved the version.
      if (expectedVersion !== undefined && expectedVersion !== base.version && !base.causedBy.has(commands[0].command.metadata.commandId)) {
        throw refusalOfMissing(commands[0], base) ?? new WrongExpectedVersion(streamId, expectedVersion, base.version);
      }
      const { decisions, appending } = decideInTurn(commands, base, ids);
      if (trusted && decisions.some(({ outcome }) => 'error' in outcome || ('events' in outcome && outcome.events.length === 0))) {
        verified = true;
        attempt--;
        continue;
      }
      if (appending.size === 0) return settle(commands, decisions, base.position);
      const events = decisions.flatMap(({ outcome }) => ('events' in outcome ? outcome.events : []));
      try {
        const appended = await store.append(streamId, events, { expectedVersion: base.version === -1 ? 'no_stream' : base.version });
        // In place, not copied: a hot stream's map holds every command it has seen.
        for (const commandId of appending) base.causedBy.set(commandId, appended.position);
        folded.keep(fold, streamId, { state: decisions[decisions.length - 1].state, version: appended.nextExpectedVersion, position: appended.position, causedBy: base.causedBy });
        return settle(commands, decisions, appended.position, appended.position);
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion) && commands.length > 1) {
          // What one command's events did to the append (a value the store refuses) must not fail the others: each goes again on its own.
          for (const command of commands) await decideAndAppend(streamId, [command]).catch((alone: unknown) => command.reject(alone));
          return;
        }
        if (!(error instanceof WrongExpectedVersion) || attempt >= attempts) throw error;
        // A stale cache or a wrong guess is not a race with another writer: read at once.
        if (!trusted) await backoff(attempt);
      }
    }
  }
};

export type HandleCommand = ReturnType<typeof createCommandHandler>;

/** One command run on a stream, as HandleCommand runs it: what a caller that only runs commands needs (an edge may wrap it, to count them say). */
export type RunCommand = <State, C extends Command, E extends Message>(decider: Decider<State, C, E>, streamId: string, command: C, options?: CommandOptions) => Promise<CommandResult<State, E>>;

type Fold<State, E extends Message> = Pick<Decider<State, never, E>, 'evolve' | 'initialState'>;

/** A command waiting for its turn on a stream, with the settlement of its caller's promise. */
type QueuedCommand<State = unknown, C extends Command = Command, E extends Message = Message> = Readonly<{
  decider: Decider<State, C, E>;
  command: C;
  options: CommandOptions;
  resolve: (result: CommandResult<State, E>) => void;
  reject: (error: unknown) => void;
}>;

/** What one command of a batch came to, with the stream's state and version once it has (its own events folded in). */
type Decision = Readonly<{ outcome: Outcome; state: unknown; version: number }>;

/** Events to append; the position of an earlier append of the same command id (`inThisAppend`: of the one being made); or its refusal. */
type Outcome = Readonly<{ events: readonly EventToAppend[] }> | Readonly<{ earlier: bigint | 'inThisAppend' }> | Readonly<{ error: unknown }>;

/**
 * Decides each command on the state the commands before it leave, as if each had been appended
 * before the next was decided; `appending`: the ids of the commands that decided events.
 */
function decideInTurn(commands: readonly QueuedCommand[], base: FoldedStream<unknown>, ids: IdGenerator): { decisions: Decision[]; appending: ReadonlySet<string> } {
  let { state, version } = base;
  const appending = new Set<string>();
  const decisions = commands.map(({ decider, command }): Decision => {
    const { commandId } = command.metadata;
    const earlier = base.causedBy.get(commandId);
    if (earlier !== undefined) return { outcome: { earlier }, state, version };
    if (appending.has(commandId)) return { outcome: { earlier: 'inThisAppend' }, state, version };
    let decided: readonly Message[];
    let after: unknown;
    try {
      decided = decidedEvents(decider.decide(command, state));
      // Folded before the append: an event its aggregate cannot fold is its command's failure, and is never stored.
      after = decided.reduce(decider.evolve, state);
    } catch (error) {
      return { outcome: { error }, state, version };
    }
    if (decided.length > 0) appending.add(commandId);
    state = after;
    version += decided.length;
    return { outcome: { events: decided.map((event) => toAppend(event, command, ids)) }, state, version };
  });
  return { decisions, appending };
}

/**
 * Answers each command of a batch: its events, the state and version after them, and the
 * position that shows them (`appendedAt`, when the batch appended); a command that changed
 * nothing gets `shownAt`, what shows the state it was decided on; or its refusal.
 */
function settle(commands: readonly QueuedCommand[], decisions: readonly Decision[], shownAt: bigint | undefined, appendedAt?: bigint): void {
  for (const [i, { outcome, state, version }] of decisions.entries()) {
    const { resolve, reject } = commands[i];
    if ('error' in outcome) reject(outcome.error);
    else if ('earlier' in outcome) resolve({ events: [], state, version, position: outcome.earlier === 'inThisAppend' ? appendedAt : outcome.earlier, repeated: true });
    else {
      const position = outcome.events.length > 0 ? appendedAt : shownAt;
      resolve({ events: outcome.events, state, version, ...(position !== undefined ? { position } : {}) });
    }
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

/**
 * For a command with If-Match on a stream that has no events: its decider's refusal (the
 * aggregate not found, most often), which says more than a version conflict. Nothing is decided
 * to be appended: the conflict stands when the decider would accept.
 */
function refusalOfMissing(queued: QueuedCommand, base: FoldedStream<unknown>): unknown {
  if (base.version !== -1) return undefined;
  try {
    queued.decider.decide(queued.command, base.state);
    return undefined;
  } catch (refusal) {
    return refusal;
  }
}

/** A turn on a stream: a batch of commands, or a read of the stream. */
type Turn = Readonly<{ command: QueuedCommand }> | Readonly<{ read: () => Promise<void> }>;

/**
 * One turn at a time per stream, in arrival order. A command's turn takes with it the commands
 * queued right behind it that fold the stream alike and carry no expected version of their own.
 */
function streamTurns(decideAndAppend: (streamId: string, commands: readonly QueuedCommand[]) => Promise<void>) {
  const queues = new Map<string, Turn[]>();

  async function takeTurns(streamId: string, queue: Turn[]): Promise<void> {
    while (queue.length > 0) {
      const first = queue[0];
      if ('read' in first) {
        queue.shift();
        await first.read();
        continue;
      }
      const batch = [first.command];
      const lone = first.command.options.expectedVersion !== undefined;
      while (!lone && batch.length < queue.length && batch.length < MAX_COMMANDS_PER_APPEND) {
        const next = queue[batch.length];
        if (!('command' in next) || next.command.options.expectedVersion !== undefined || next.command.decider.evolve !== first.command.decider.evolve) break;
        batch.push(next.command);
      }
      queue.splice(0, batch.length);
      await decideAndAppend(streamId, batch).catch((error: unknown) => {
        for (const { reject } of batch) reject(error);
      });
    }
    queues.delete(streamId);
  }

  return (streamId: string, turn: Turn): void => {
    const queue = queues.get(streamId);
    if (queue) {
      queue.push(turn);
      return;
    }
    const started = [turn];
    queues.set(streamId, started);
    void takeTurns(streamId, started);
  };
}

/** Jittered so that writers who collided do not collide again in lockstep. */
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 100)));
