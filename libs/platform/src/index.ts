export * from './platform.module';
export * from './pino-logger';
export * from './periodic-job';
