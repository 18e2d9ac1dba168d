import type { Message, RecordedEvent } from './message';

/** A stream as one decider last saw it: its folded state, its version and last position, and which commands caused its events. */
export type FoldedStream<State> = {
  state: State;
  /** -1 while the stream has no events. */
  version: number;
  /** The position of its last event (of the append that carried it); undefined while it has none. */
  position?: bigint;
  /**
   * Command id → a position that shows the events it caused: its last event's, as read from the
   * store, or the last of the append that carried them (commands batched on a stream share one).
   * A command seen before is not decided again.
   */
  causedBy: Map<string, bigint>;
};

/** What folds a stream: the deciders of one aggregate (reserve, commit and release stock) share it. */
type Fold<State> = Readonly<{ initialState: () => State; evolve: (state: State, event: never) => State }>;

/**
 * The streams a process has folded, per aggregate (its `evolve`: every decider of a product
 * folds a product stream alike, so a stock commit's append is what the next reservation
 * starts from), the least recently used forgotten beyond `capacity`. A command appends
 * expecting the version it holds, so an entry another process has overtaken costs a refused
 * append and a read, never a wrong decision.
 */
export function foldedStreams(capacity: number) {
  const byAggregate = new WeakMap<object, Map<string, FoldedStream<unknown>>>();

  return {
    /** The stream as folded so far, or (not `cached`) as it is before its first event. */
    take<State>(fold: Fold<State>, streamId: string): FoldedStream<State> & { cached: boolean } {
      const known = byAggregate.get(fold.evolve)?.get(streamId) as FoldedStream<State> | undefined;
      return known ? { ...known, cached: true } : { state: fold.initialState(), version: -1, causedBy: new Map(), cached: false };
    },
    /** Keeps the stream as now folded, as the most recently used. */
    keep<State>(fold: Fold<State>, streamId: string, folded: FoldedStream<State>): void {
      const streams = byAggregate.get(fold.evolve) ?? new Map<string, FoldedStream<unknown>>();
      byAggregate.set(fold.evolve, streams);
      streams.delete(streamId);
      streams.set(streamId, folded as FoldedStream<unknown>);
      if (streams.size > capacity) streams.delete(streams.keys().next().value as string);
    },
  };
}

/** Folds the events after `folded.version` into it (in place). */
export function foldNewer<State, E extends Message, F extends FoldedStream<State>>(folded: F, newer: readonly RecordedEvent<E>[], evolve: (state: State, event: E) => State): F {
  for (const event of newer) {
    folded.state = evolve(folded.state, event);
    folded.version = event.streamVersion;
    folded.position = event.position;
    if (event.metadata.causationId) folded.causedBy.set(event.metadata.causationId, event.position);
  }
  return folded;
}
