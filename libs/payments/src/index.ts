export * from './payments';
export * from './errors';
export * from './record-payment/record-payment';
export * from './payment-gateway';
export * from './simulated-payment.gateway';
