import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { OrderAlreadyConfirmed, OrderNotFound } from '../errors';
import { cancellationRequested, ORDER_ID, orderCancelled, orderConfirmed, orderPlaced } from '../orders.fixture';
import { requestOrderCancellation, type RequestOrderCancellation } from './request-order-cancellation';

const request: RequestOrderCancellation = {
  type: 'RequestOrderCancellation',
  data: { orderId: ORDER_ID, requestedBy: 'user-1' },
  metadata: testCommandMetadata(),
};

describe('RequestOrderCancellation', () => {
  const spec = deciderSpec(requestOrderCancellation);

  it('records the request on a placed order', () => {
    spec.given([orderPlaced()]).when(request).then([cancellationRequested()]);
  });

  it('records it once when asked twice', () => {
    spec.given([orderPlaced(), cancellationRequested()]).when(request).then([]);
  });

  it('changes nothing on a cancelled order', () => {
    spec.given([orderPlaced(), orderCancelled()]).when(request).then([]);
  });

  it('refuses once the order is confirmed', () => {
    spec.given([orderPlaced(), orderConfirmed()]).when(request).thenThrows(OrderAlreadyConfirmed);
  });

  it('refuses an unknown order', () => {
    spec.given([]).when(request).thenThrows(OrderNotFound);
  });
});
