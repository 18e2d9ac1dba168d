import { BusinessRuleViolation } from './errors';
import type { Decider } from './decider';
import type { Command, Message } from './message';

/** A bounded counter: the smallest decider that has state, a rule and events, for core's specs. */
export type Increment = Command<'Increment', { by: number }>;
export type Incremented = Message<'Incremented', { by: number; at: string }>;
export type Counter = { count: number };

export const LIMIT = 1_000;

export const counter: Decider<Counter, Increment, Incremented> = {
  initialState: () => ({ count: 0 }),
  evolve: (state, event) => ({ count: state.count + event.data.by }),
  decide: (command, state) => {
    if (command.data.by === 0) return [];
    if (state.count + command.data.by > LIMIT) {
      throw new BusinessRuleViolation('limit-exceeded', `count would exceed ${LIMIT}`);
    }
    return [{ type: 'Incremented', data: { by: command.data.by, at: command.metadata.now.toISOString() } }];
  },
};
