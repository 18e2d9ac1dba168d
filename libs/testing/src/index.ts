export * from './test-database';
export * from './eventually';
export * from './decider-spec';
