export * from './views';
export * from './errors';
export * from './record-views/record-views';
export * from './views.projection';
export * from './views.queries';
export * from './views-compaction.repository';
