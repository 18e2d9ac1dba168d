import { evolvePayment, initialPayment } from './payments';
import { attemptFailed, authorized, captured, refunded } from './payments.fixture';

describe('payment state', () => {
  it('keeps the authorization through capture and refund, counting failed attempts', () => {
    const payment = [attemptFailed('authorize'), authorized('auth_1', 2500), attemptFailed('capture'), captured(), refunded()].reduce(
      evolvePayment,
      initialPayment(),
    );

    expect(payment).toEqual({ status: 'refunded', orderId: 'order-1', authorizationId: 'auth_1', amountCents: 2500, currency: 'USD', failedAttempts: 2 });
  });
});
