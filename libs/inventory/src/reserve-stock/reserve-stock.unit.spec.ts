import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { ProductNotFound } from '../errors';
import { received, registered, released, reserved } from '../inventory.fixture';
import { reserveStock, type ReserveStock } from './reserve-stock';

const reserve = (reservationId: string, quantity: number): ReserveStock => ({
  type: 'ReserveStock',
  data: { sku: 'SKU-1', reservationId, quantity },
  metadata: testCommandMetadata(),
});

describe('ReserveStock', () => {
  const spec = deciderSpec(reserveStock);

  it('reserves what is available', () => {
    spec.given([registered(), received(3)]).when(reserve('r1', 3)).then([{ type: 'StockReserved', data: { sku: 'SKU-1', reservationId: 'r1', quantity: 3 } }]);
  });

  it('rejects a reservation larger than available stock, saying what is available', () => {
    spec
      .given([registered(), received(3), reserved('r0', 2)])
      .when(reserve('r1', 2))
      .then([{ type: 'StockReservationRejected', data: { sku: 'SKU-1', reservationId: 'r1', quantity: 2, available: 1 } }]);
  });

  it('reserves nothing twice when the same reservation arrives again', () => {
    spec.given([registered(), received(3), reserved('r1', 1)]).when(reserve('r1', 1)).then([]);
  });

  it('reserves nothing once the reservation was released, even if the release came first', () => {
    spec.given([registered(), received(3), released('r1', 0)]).when(reserve('r1', 1)).then([]);
  });

  it('refuses an unknown sku', () => {
    spec.given([]).when(reserve('r1', 1)).thenThrows(ProductNotFound);
  });
});
