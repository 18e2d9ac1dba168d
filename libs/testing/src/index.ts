export * from './test-database';
export * from './eventually';
export * from './decider-spec';
export * from './test-event-store';
export * from './test-jetstream';
export * from './inventory-workload';
export * from './tcp-proxy';
export * from './recorded-streams';
