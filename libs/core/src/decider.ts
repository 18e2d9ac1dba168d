import type { Command, Message } from './message';

/**
 * The pure heart of a use case (Emmett's Decider): `decide` turns a command and the current
 * state into events, `evolve` folds an event into state. No I/O, no clock, no random ids.
 */
export type Decider<State, C extends Command, E extends Message> = Readonly<{
  decide: (command: C, state: State) => E | readonly E[];
  evolve: (state: State, event: E) => State;
  initialState: () => State;
}>;

export const decidedEvents = <E>(decided: E | readonly E[]): readonly E[] =>
  Array.isArray(decided) ? decided : [decided as E];
