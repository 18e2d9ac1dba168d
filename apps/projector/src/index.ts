export * from './projector.module';
export * from './projection-catalog';
