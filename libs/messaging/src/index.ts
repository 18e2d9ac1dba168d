export * from './event-topology';
export * from './event-message';
export * from './jetstream';
export * from './relay';
export * from './partition-leases';
export * from './consumer-group';
export * from './consumer-runtime';
export * from './notifications';
export type { Batching } from './deliveries';
