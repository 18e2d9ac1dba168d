import type { Message } from './message';

/**
 * A process manager as a pure decider (Emmett's Workflow): it reacts to an input message with
 * the commands to send next, and keeps its own state in its own stream by recording both what
 * it received and what it decided.
 */
export type Workflow<Input extends Message, State, Output extends Message> = Readonly<{
  decide: (input: Input, state: State) => readonly Output[];
  evolve: (state: State, recorded: WorkflowEvent<Input, Output>) => State;
  initialState: () => State;
}>;

/** What a workflow's stream holds: inputs it received and outputs it decided to send. */
export type WorkflowEvent<Input extends Message, Output extends Message> =
  | Readonly<{ kind: 'received'; message: Input }>
  | Readonly<{ kind: 'sent'; message: Output }>;
