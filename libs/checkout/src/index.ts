export * from './checkout';
export * from './next-step/next-step';
export * from './record-step/record-step';
export * from './checkout-driver';
export * from './checkout-admin';
export * from './checkout-sagas.repository';
