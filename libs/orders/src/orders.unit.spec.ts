import { evolveOrder, initialOrder, type OrderEvent } from './orders';
import { cancellationRequested, orderCancelled, orderConfirmed, orderPlaced } from './orders.fixture';

const fold = (events: readonly OrderEvent[]) => events.reduce(evolveOrder, initialOrder());

describe('order state', () => {
  it('is placed with everything the order was placed with', () => {
    expect(fold([orderPlaced()])).toEqual({ status: 'placed', ...orderPlaced().data });
  });

  it('stays placed, remembering who asked, while a cancellation is requested', () => {
    expect(fold([orderPlaced(), cancellationRequested('o-1', 'admin-1')])).toMatchObject({ status: 'placed', cancellationRequestedBy: 'admin-1' });
  });

  it('is confirmed after OrderConfirmed', () => {
    expect(fold([orderPlaced(), orderConfirmed()])).toMatchObject({ status: 'confirmed' });
  });

  it('is cancelled with its reason after OrderCancelled', () => {
    expect(fold([orderPlaced(), cancellationRequested(), orderCancelled('customer asked')])).toMatchObject({
      status: 'cancelled',
      cancellationRequestedBy: 'user-1',
      cancellationReason: 'customer asked',
    });
  });

  it('ignores events of an order that was never placed', () => {
    expect(fold([orderConfirmed(), orderCancelled()])).toEqual({ status: 'none' });
  });
});
