import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { OrderAlreadyConfirmed, OrderNotFound } from '../errors';
import { cancellationRequested, ORDER_ID, orderCancelled, orderConfirmed, orderPlaced } from '../orders.fixture';
import { cancelOrder, type CancelOrder } from './cancel-order';

const cancel: CancelOrder = { type: 'CancelOrder', data: { orderId: ORDER_ID, reason: 'payment declined' }, metadata: testCommandMetadata() };

describe('CancelOrder', () => {
  const spec = deciderSpec(cancelOrder);

  it('cancels a placed order with the reason', () => {
    spec.given([orderPlaced()]).when(cancel).then([orderCancelled('payment declined')]);
  });

  it('cancels an order whose cancellation was requested', () => {
    spec.given([orderPlaced(), cancellationRequested()]).when(cancel).then([orderCancelled('payment declined')]);
  });

  it('cancels once when the saga sends it twice', () => {
    spec.given([orderPlaced(), orderCancelled('payment declined')]).when(cancel).then([]);
  });

  it('refuses a confirmed order', () => {
    spec.given([orderPlaced(), orderConfirmed()]).when(cancel).thenThrows(OrderAlreadyConfirmed);
  });

  it('refuses an unknown order', () => {
    spec.given([]).when(cancel).thenThrows(OrderNotFound);
  });
});
