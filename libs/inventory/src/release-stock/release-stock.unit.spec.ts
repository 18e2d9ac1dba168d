import { BusinessRuleViolation } from '@tidings/core';
import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { committed, received, registered, rejected, released, reserved } from '../inventory.fixture';
import { releaseStock, type ReleaseStock } from './release-stock';

const release = (reservationId: string): ReleaseStock => ({
  type: 'ReleaseStock',
  data: { sku: 'SKU-1', reservationId },
  metadata: testCommandMetadata(),
});

describe('ReleaseStock', () => {
  const spec = deciderSpec(releaseStock);

  it('releases a held reservation, all of it', () => {
    spec.given([registered(), received(5), reserved('r1', 2)]).when(release('r1')).then([{ type: 'StockReleased', data: { sku: 'SKU-1', reservationId: 'r1', quantity: 2 } }]);
  });

  it('changes nothing when released twice (compensating twice equals once)', () => {
    spec.given([registered(), received(5), reserved('r1', 2), released('r1', 2)]).when(release('r1')).then([]);
  });

  it('closes a reservation that was never held, so that it can no longer be made (a release that overtook its reserve)', () => {
    spec.given([registered(), received(5)]).when(release('r1')).then([{ type: 'StockReleased', data: { sku: 'SKU-1', reservationId: 'r1', quantity: 0 } }]);
    spec.given([registered(), received(5), released('r1', 0)]).when(release('r1')).then([]);
  });

  it('changes nothing for a reservation that was rejected', () => {
    spec.given([registered(), received(1), rejected('r1', 2)]).when(release('r1')).then([]);
  });

  it('refuses to release stock that already left', () => {
    spec.given([registered(), received(5), reserved('r1', 2), committed('r1', 2)]).when(release('r1')).thenThrows(BusinessRuleViolation, /committed/);
  });
});
