export * from './tax-rates';
export * from './errors';
export * from './set-tax-rate/set-tax-rate';
