import { deciderSpec, testCommandMetadata } from '@tidings/testing';
import { OrderAlreadyCancelled, OrderNotFound } from '../errors';
import { cancellationRequested, ORDER_ID, orderCancelled, orderConfirmed, orderPlaced } from '../orders.fixture';
import { confirmOrder, type ConfirmOrder } from './confirm-order';

const confirm: ConfirmOrder = { type: 'ConfirmOrder', data: { orderId: ORDER_ID }, metadata: testCommandMetadata() };

describe('ConfirmOrder', () => {
  const spec = deciderSpec(confirmOrder);

  it('confirms a placed order', () => {
    spec.given([orderPlaced()]).when(confirm).then([orderConfirmed()]);
  });

  it('confirms once when the saga sends it twice', () => {
    spec.given([orderPlaced(), orderConfirmed()]).when(confirm).then([]);
  });

  it('refuses an order whose cancellation was requested', () => {
    spec.given([orderPlaced(), cancellationRequested()]).when(confirm).thenThrows(OrderAlreadyCancelled);
  });

  it('refuses a cancelled order', () => {
    spec.given([orderPlaced(), orderCancelled()]).when(confirm).thenThrows(OrderAlreadyCancelled);
  });

  it('refuses an unknown order', () => {
    spec.given([]).when(confirm).thenThrows(OrderNotFound);
  });
});
