import { productsProjection } from '@tidings/inventory';
import { ordersProjection } from '@tidings/orders';
import type { Projection } from '@tidings/read-models';
import { viewsProjection } from '@tidings/views';

/** Every read model the projector keeps, and the CLI can rebuild. */
export const projectionCatalog: readonly Projection[] = [productsProjection, ordersProjection, viewsProjection];
