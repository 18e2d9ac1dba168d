import { BusinessRuleViolation } from '@tidings/core';
import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { committed, received, registered, released, reserved } from '../inventory.fixture';
import { commitStock, type CommitStock } from './commit-stock';

const commit = (reservationId: string): CommitStock => ({
  type: 'CommitStock',
  data: { sku: 'SKU-1', reservationId },
  metadata: testCommandMetadata(),
});

describe('CommitStock', () => {
  const spec = deciderSpec(commitStock);

  it('commits a held reservation', () => {
    spec.given([registered(), received(5), reserved('r1', 2)]).when(commit('r1')).then([{ type: 'StockCommitted', data: { sku: 'SKU-1', reservationId: 'r1', quantity: 2 } }]);
  });

  it('commits once when the command arrives twice', () => {
    spec.given([registered(), received(5), reserved('r1', 2), committed('r1', 2)]).when(commit('r1')).then([]);
  });

  it('refuses a commit that arrives after its release (a forward step after compensation)', () => {
    spec.given([registered(), received(5), reserved('r1', 2), released('r1', 2)]).when(commit('r1')).thenThrows(BusinessRuleViolation, /not held/);
  });
});
