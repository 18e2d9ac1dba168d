export * from './platform.module';
export * from './pino-logger';
