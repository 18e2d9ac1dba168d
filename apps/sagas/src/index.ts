export * from './sagas.module';
