export * from './inventory';
export * from './errors';
export * from './register-product/register-product';
export * from './receive-stock/receive-stock';
export * from './reserve-stock/reserve-stock';
export * from './release-stock/release-stock';
export * from './commit-stock/commit-stock';
export * from './products.projection';
