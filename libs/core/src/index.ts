export * from './message';
export * from './decider';
export * from './workflow';
export * from './errors';
export * from './event-store.port';
export * from './ports';
export * from './handle-command';
export * from './coalescer';
