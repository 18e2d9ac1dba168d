export * from './api.module';
export * from './api-server';
export * from './auth/tokens';
