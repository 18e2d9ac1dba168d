import { decidedEvents, type Command, type Decider, type Message } from '@tidings/core';

/**
 * Given/when/then for deciders: given past events, when a command, then these events — or
 * this error. Reads as the behaviour it checks.
 */
export const deciderSpec = <State, C extends Command, E extends Message>(decider: Decider<State, C, E>) => ({
  given: (history: readonly E[]) => ({
    when: (command: C) => {
      const decide = () => decidedEvents(decider.decide(command, history.reduce(decider.evolve, decider.initialState())));
      return {
        then: (expected: readonly E[]) => expect(decide()).toEqual(expected),
        thenThrows: (error: new (...args: never[]) => Error, message?: RegExp) => {
          expect(decide).toThrow(error);
          if (message) expect(decide).toThrow(message);
        },
      };
    },
  }),
});

/** Command metadata for specs: fixed ids and a fixed clock. */
export const testCommandMetadata = (overrides: Partial<Command['metadata']> = {}): Command['metadata'] => ({
  commandId: '00000000-0000-7000-8000-000000000001',
  correlationId: '00000000-0000-7000-8000-000000000002',
  actor: 'user-test',
  now: new Date('2026-01-01T00:00:00.000Z'),
  ...overrides,
});
