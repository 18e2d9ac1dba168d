import { createCommandHandler, systemClock, uuidV7Ids, type EventToAppend, type Message } from '@tidings/core';
import { productStreamId } from '@tidings/inventory';
import { orderStreamId } from '@tidings/orders';
import { GatewayAborted, GatewayUnavailable, paymentStreamId, SimulatedPaymentGateway, type PaymentGateway } from '@tidings/payments';
import { useTestEventStore } from '@tidings/testing';
import { checkoutStreamId } from './checkout';
import { compensateCheckout } from './checkout-admin';
import { CheckoutDriver, DEFAULT_CHECKOUT_POLICY } from './checkout-driver';

const ORDER_ID = '0190a000-0000-7000-8000-0000000000cc';
const ITEMS = [
  { sku: 'SKU-1', quantity: 2, unitPriceCents: 1299 },
  { sku: 'SKU-2', quantity: 1, unitPriceCents: 500 },
];
const TOTAL_CENTS = 3098;
const orderPlaced: Message = {
  type: 'OrderPlaced',
  data: { orderId: ORDER_ID, customerId: 'user-1', items: ITEMS, currency: 'USD', subtotalCents: TOTAL_CENTS, taxRate: 0, taxCents: 0, totalCents: TOTAL_CENTS, shippingCountry: 'DE', paymentToken: 'tok_visa' },
};
const stocked = (sku: string): Message[] => [
  { type: 'ProductRegistered', data: { sku, name: sku, priceCents: 100, currency: 'USD' } },
  { type: 'StockReceived', data: { sku, quantity: 10 } },
];

const toAppend = (event: Message): EventToAppend => ({
  ...event,
  eventId: uuidV7Ids.next(),
  metadata: { correlationId: ORDER_ID, causationId: ORDER_ID, actor: 'spec', schemaVersion: 1 },
});

/** The simulator, but for the operations given. */
const simulatorBut = (simulator: SimulatedPaymentGateway, operations: Partial<PaymentGateway>): PaymentGateway => ({
  authorize: (request, signal) => simulator.authorize(request, signal),
  capture: (request, signal) => simulator.capture(request, signal),
  void: (request, signal) => simulator.void(request, signal),
  refund: (request, signal) => simulator.refund(request, signal),
  ...operations,
});

/**
 * Two drivers of one saga, as two sagas processes are after a nudge: what one does at the
 * gateway must not be lost when the other changes the saga's course meanwhile.
 */
describe('CheckoutDriver, two drives of one saga at once', () => {
  const testStore = useTestEventStore();
  const { pool } = testStore;

  const driverWith = (gateway: PaymentGateway) =>
    new CheckoutDriver({ handle: createCommandHandler({ store: testStore.store, ids: uuidV7Ids }), gateway, clock: systemClock, policy: DEFAULT_CHECKOUT_POLICY });

  it('refunds a capture that went through while the customer\'s cancellation compensated the saga', async () => {
    const { store } = testStore;
    for (const { sku } of ITEMS) await store.append(productStreamId(sku), stocked(sku).map(toAppend), { expectedVersion: 'no_stream' });
    await store.append(orderStreamId(ORDER_ID), [toAppend(orderPlaced)], { expectedVersion: 'no_stream' });

    const simulator = new SimulatedPaymentGateway(pool);
    const other = driverWith(simulator);
    let cancelledDuringCapture = false;
    // The gateway captures; before its answer reaches this driver, the customer cancels and the other driver compensates.
    const capturingSlowly = simulatorBut(simulator, {
      capture: async (request, signal) => {
        const capture = await simulator.capture(request, signal);
        await store.append(orderStreamId(ORDER_ID), [toAppend({ type: 'OrderCancellationRequested', data: { orderId: ORDER_ID, requestedBy: 'user-1' } })], { expectedVersion: 'any' });
        await expect(other.drive(ORDER_ID)).resolves.toMatchObject({ status: 'compensated' });
        cancelledDuringCapture = true;
        return capture;
      },
    });

    // This driver's confirmation comes too late: the order is cancelled, and the saga compensated.
    await expect(driverWith(capturingSlowly).drive(ORDER_ID)).resolves.toMatchObject({ status: 'compensated' });
    expect(cancelledDuringCapture).toBe(true);

    const books = [...(await SimulatedPaymentGateway.ledger(pool)).values()];
    expect(books).toEqual([expect.objectContaining({ capturedCents: TOTAL_CENTS, refundedCents: TOTAL_CENTS, status: 'refunded' })]);
    const orderEvents = (await store.readStream(orderStreamId(ORDER_ID))).map((event) => event.type);
    expect(orderEvents).toEqual(['OrderPlaced', 'OrderCancellationRequested', 'OrderCancelled']);
    expect(await other.drive(ORDER_ID)).toMatchObject({ status: 'compensated', step: 'done' });
  });

  /** An order of its own, its skus (suffixed) stocked, paid with the token given. */
  const placed = async (orderId: string, suffix: string, paymentToken = 'tok_visa') => {
    const { store } = testStore;
    const items = ITEMS.map((item) => ({ ...item, sku: `${item.sku}-${suffix}` }));
    for (const { sku } of items) await store.append(productStreamId(sku), stocked(sku).map(toAppend), { expectedVersion: 'no_stream' });
    await store.append(orderStreamId(orderId), [toAppend({ type: 'OrderPlaced', data: { ...(orderPlaced.data as object), orderId, items, paymentToken } })], { expectedVersion: 'no_stream' });
  };

  it('carries on from what the stream holds when told the saga is new but a drive killed before it settled had begun it', async () => {
    const { store } = testStore;
    const orderId = '0190a000-0000-7000-8000-0000000000cd';
    await placed(orderId, 'b');
    const simulator = new SimulatedPaymentGateway(pool);
    const killedAtTheGateway = simulatorBut(simulator, { authorize: () => Promise.reject(new Error('the process was killed')) });
    await expect(driverWith(killedAtTheGateway).drive(orderId, { isNew: true })).rejects.toThrow('the process was killed');

    // A new process: nothing cached, and the saga's row still says it is new.
    await expect(driverWith(simulator).drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'completed', step: 'done' });
    const steps = (await store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
    expect(steps).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentAuthorized', 'CheckoutOrderConfirmed', 'CheckoutCompleted']);
  });

  it('goes on with an operator’s compensation begun while the gateway had not answered, rather than failing over the timeout', async () => {
    const orderId = '0190a000-0000-7000-8000-0000000000d1';
    await placed(orderId, 'f', 'tok_timeout');
    const simulator = new SimulatedPaymentGateway(pool);
    const operator = createCommandHandler({ store: testStore.store, ids: uuidV7Ids });
    // While the first attempt waits, an operator compensates from another process.
    const compensation = { commandId: uuidV7Ids.next(), correlationId: 'request-1', actor: 'ops', now: new Date() };
    const compensatedMeanwhile = simulatorBut(simulator, {
      authorize: async (request, signal) => {
        await compensateCheckout(operator, orderId, 'customer called', compensation);
        return simulator.authorize(request, signal);
      },
    });
    const driver = new CheckoutDriver({ handle: createCommandHandler({ store: testStore.store, ids: uuidV7Ids }), gateway: compensatedMeanwhile, clock: systemClock, policy: { ...DEFAULT_CHECKOUT_POLICY, paymentTimeoutMs: 200, lateAnswerMs: 300 } });

    await expect(driver.drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'compensated', step: 'done' });
    const steps = (await testStore.store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
    // What the attempt came to is recorded: nothing held, so nothing to void.
    expect(steps).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutCompensationStarted', 'CheckoutPaymentTimedOut', 'CheckoutItemReleased', 'CheckoutItemReleased', 'CheckoutOrderCancelled', 'CheckoutCompensated']);
  });

  describe('an operator\'s compensation and the order\'s confirmation, which the order decides between', () => {
    const operator = () => createCommandHandler({ store: testStore.store, ids: uuidV7Ids });
    const operatorCommand = () => ({ commandId: uuidV7Ids.next(), correlationId: 'request-3', actor: 'ops', now: new Date() });
    const sagaRecord = async (orderId: string) => (await testStore.store.readStream(checkoutStreamId(orderId))).map(({ type, data }) => ({ type, data }));
    /** The gateway's books for the order's authorization. */
    const ledgerOf = async (orderId: string) => {
      const authorized = (await testStore.store.readStream(paymentStreamId(orderId))).find((event) => event.type === 'PaymentAuthorized');
      return (await SimulatedPaymentGateway.ledger(pool)).get((authorized?.data as { authorizationId: string }).authorizationId);
    };

    it('refunds the capture and cancels the order when the operator comes while the payment is being captured: the order is never confirmed', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d2';
      await placed(orderId, 'g');
      const simulator = new SimulatedPaymentGateway(pool);
      const compensatedDuringCapture = simulatorBut(simulator, {
        capture: async (request, signal) => {
          const capture = await simulator.capture(request, signal);
          await compensateCheckout(operator(), orderId, 'fraud suspected', operatorCommand());
          return capture;
        },
      });

      await expect(driverWith(compensatedDuringCapture).drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'compensated' });
      expect((await testStore.store.readStream(orderStreamId(orderId))).map((event) => event.type)).toEqual(['OrderPlaced', 'OrderCancellationRequested', 'OrderCancelled']);
      expect(await ledgerOf(orderId)).toMatchObject({ capturedCents: TOTAL_CENTS, refundedCents: TOTAL_CENTS, status: 'refunded' });
      const history = await sagaRecord(orderId);
      expect(history.filter(({ type }) => type === 'CheckoutCompensationStarted')).toEqual([{ type: 'CheckoutCompensationStarted', data: { orderId, reason: 'fraud suspected', actor: 'ops' } }]);
      expect(history.map(({ type }) => type)).not.toContain('CheckoutStepFailed');
    });

    it('is refused once the order is confirmed, before the saga has recorded it, and the checkout completes', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d3';
      await placed(orderId, 'h');
      const handle = createCommandHandler({ store: testStore.store, ids: uuidV7Ids });
      let refusal: unknown;
      // The order is confirmed; before the saga records it, the operator compensates.
      const compensatedAfterConfirming = Object.assign(
        (async (decider, streamId, command, options) => {
          const result = await handle(decider, streamId, command, options);
          if (command.type === 'ConfirmOrder') refusal = await compensateCheckout(operator(), orderId, 'too late', operatorCommand()).catch((error: unknown) => error);
          return result;
        }) as typeof handle,
        { current: handle.current },
      );
      const driver = new CheckoutDriver({ handle: compensatedAfterConfirming, gateway: new SimulatedPaymentGateway(pool), clock: systemClock, policy: DEFAULT_CHECKOUT_POLICY });

      await expect(driver.drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'completed' });
      expect(refusal).toMatchObject({ code: 'checkout-confirmed' });
      expect((await testStore.store.readStream(orderStreamId(orderId))).map((event) => event.type)).toEqual(['OrderPlaced', 'OrderConfirmed']);
      expect(await ledgerOf(orderId)).toMatchObject({ capturedCents: TOTAL_CENTS, refundedCents: 0, status: 'captured' });
    });

    it('voids the authorization, and charges nothing, when the customer cancels while the payment is being authorized', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d4';
      await placed(orderId, 'i');
      const simulator = new SimulatedPaymentGateway(pool);
      const cancelledDuringAuthorization = simulatorBut(simulator, {
        authorize: async (request, signal) => {
          const authorization = await simulator.authorize(request, signal);
          await testStore.store.append(orderStreamId(orderId), [toAppend({ type: 'OrderCancellationRequested', data: { orderId, requestedBy: 'user-1' } })], { expectedVersion: 'any' });
          return authorization;
        },
      });

      await expect(driverWith(cancelledDuringAuthorization).drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'compensated' });
      expect(await ledgerOf(orderId)).toMatchObject({ capturedCents: 0, refundedCents: 0, status: 'voided' });
      expect((await sagaRecord(orderId)).find(({ type }) => type === 'CheckoutCompensationStarted')).toEqual({ type: 'CheckoutCompensationStarted', data: { orderId, reason: 'cancelled by the customer', actor: 'user-1' } });
    });
    it('compensates for the customer’s cancellation asked while the gateway was answering, not for the decline or time-out that came after', async () => {
      for (const [orderId, suffix, token] of [
        ['0190a000-0000-7000-8000-0000000000d7', 'm', 'tok_chargeDeclined'],
        ['0190a000-0000-7000-8000-0000000000d8', 'n', 'tok_timeout'],
      ]) {
        await placed(orderId, suffix, token);
        const simulator = new SimulatedPaymentGateway(pool);
        const cancelledWhileAnswering = simulatorBut(simulator, {
          authorize: async (request, signal) => {
            await testStore.store.append(orderStreamId(orderId), [toAppend({ type: 'OrderCancellationRequested', data: { orderId, requestedBy: 'user-1' } })], { expectedVersion: 'any' });
            return simulator.authorize(request, signal);
          },
        });
        const driver = new CheckoutDriver({ handle: createCommandHandler({ store: testStore.store, ids: uuidV7Ids }), gateway: cancelledWhileAnswering, clock: systemClock, policy: { ...DEFAULT_CHECKOUT_POLICY, paymentTimeoutMs: 200, lateAnswerMs: 200 } });

        await expect(driver.drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'compensated' });
        const history = await sagaRecord(orderId);
        expect(history.find(({ type }) => type === 'CheckoutCompensationStarted')).toEqual({ type: 'CheckoutCompensationStarted', data: { orderId, reason: 'cancelled by the customer', actor: 'user-1' } });
        expect(history.find(({ type }) => type === 'CheckoutOrderCancelled')).toEqual({ type: 'CheckoutOrderCancelled', data: { orderId, reason: 'cancelled by the customer' } });
        // What the attempt came to is on the record all the same, and nothing was charged.
        expect(history.map(({ type }) => type)).toContain(token === 'tok_timeout' ? 'CheckoutPaymentTimedOut' : 'CheckoutPaymentDeclined');
        expect((await testStore.store.readStream(paymentStreamId(orderId))).map((event) => event.type)).not.toContain('PaymentCaptured');
      }
    });
  });

  describe('when the gateway authorized and its answer was lost', () => {
    /** The gateway did what it was asked; the answer died with the process. */
    const killedAfterTheGateway = (simulator: SimulatedPaymentGateway) =>
      simulatorBut(simulator, {
        authorize: async (request, signal) => {
          if (request.token !== 'tok_timeout') await simulator.authorize(request, signal);
          throw new Error('the process was killed');
        },
      });
    /** The gateway's authorizations made since `earlier` (its authorization ids then), as its books hold them. */
    const authorizationsSince = async (earlier: ReadonlySet<string>) =>
      [...(await SimulatedPaymentGateway.ledger(pool))].filter(([authorizationId]) => !earlier.has(authorizationId)).map(([, book]) => book);
    /** An order of its own whose first drive was killed after the gateway answered; `earlier`: the gateway's authorizations before it. */
    const killedAtItsFirstDrive = async (orderId: string, suffix: string, paymentToken = 'tok_visa') => {
      await placed(orderId, suffix, paymentToken);
      const simulator = new SimulatedPaymentGateway(pool);
      const earlier = new Set((await SimulatedPaymentGateway.ledger(pool)).keys());
      await expect(driverWith(killedAfterTheGateway(simulator)).drive(orderId, { isNew: true })).rejects.toThrow('the process was killed');
      return { simulator, earlier };
    };
    /** The customer cancels while no drive runs. */
    const cancelledMeanwhile = (orderId: string) =>
      testStore.store.append(orderStreamId(orderId), [toAppend({ type: 'OrderCancellationRequested', data: { orderId, requestedBy: 'user-1' } })], { expectedVersion: 'any' });
    const pastTheDeadline = (simulator: SimulatedPaymentGateway) =>
      new CheckoutDriver({
        handle: createCommandHandler({ store: testStore.store, ids: uuidV7Ids }),
        gateway: simulator,
        clock: { now: () => new Date(Date.now() + DEFAULT_CHECKOUT_POLICY.paymentTimeoutMs + 30_000) },
        policy: DEFAULT_CHECKOUT_POLICY,
      });

    it('asks the gateway again under the attempt’s key, and carries on with the authorization it answers', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000ce';
      const { simulator, earlier } = await killedAtItsFirstDrive(orderId, 'c');

      await expect(pastTheDeadline(simulator).drive(orderId)).resolves.toMatchObject({ status: 'completed', step: 'done' });
      const steps = (await testStore.store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
      expect(steps).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentAuthorized', 'CheckoutOrderConfirmed', 'CheckoutCompleted']);
      // One authorization, the one the killed drive made: captured, nothing left merely held.
      expect(await authorizationsSince(earlier)).toEqual([expect.objectContaining({ capturedCents: TOTAL_CENTS, refundedCents: 0, status: 'captured' })]);
    });

    it('voids the authorization when the order is cancelled before a drive has heard of it: nothing stays merely held', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d5';
      const { simulator, earlier } = await killedAtItsFirstDrive(orderId, 'j');
      // The next drive, well before the payment deadline, compensates.
      await cancelledMeanwhile(orderId);

      await expect(driverWith(simulator).drive(orderId)).resolves.toMatchObject({ status: 'compensated', step: 'done' });
      expect(await authorizationsSince(earlier)).toEqual([expect.objectContaining({ capturedCents: 0, refundedCents: 0, status: 'voided' })]);
      const steps = (await testStore.store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
      expect(steps).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutCompensationStarted', 'CheckoutPaymentAuthorized', 'CheckoutPaymentVoided', 'CheckoutItemReleased', 'CheckoutItemReleased', 'CheckoutOrderCancelled', 'CheckoutCompensated']);
      expect((await testStore.store.readStream(paymentStreamId(orderId))).map((event) => event.type)).toEqual(['PaymentAuthorized', 'PaymentVoided']);
    });

    it('asks again, rather than releasing, when the gateway is unavailable as the compensation asks what the attempt came to', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d6';
      const { simulator, earlier } = await killedAtItsFirstDrive(orderId, 'k');
      await cancelledMeanwhile(orderId);

      const unavailable = simulatorBut(simulator, { authorize: () => Promise.reject(new GatewayUnavailable('the gateway is unavailable (a 503)')) });
      await expect(driverWith(unavailable).drive(orderId)).rejects.toThrow('the gateway is unavailable');
      expect(await authorizationsSince(earlier)).toEqual([expect.objectContaining({ status: 'authorized' })]);
      // The next drive, the gateway back, hears the authorization and voids it.
      await expect(driverWith(simulator).drive(orderId)).resolves.toMatchObject({ status: 'compensated', step: 'done' });
      expect(await authorizationsSince(earlier)).toEqual([expect.objectContaining({ capturedCents: 0, status: 'voided' })]);
    });

    it('hears the gateway again when its answer to a running drive came after the deadline: nothing stays merely held', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000d0';
      await placed(orderId, 'e', 'tok_visa');
      const simulator = new SimulatedPaymentGateway(pool);
      const earlier = new Set((await SimulatedPaymentGateway.ledger(pool)).keys());
      let calls = 0;
      // The gateway authorizes at once, but its answer is lost past the deadline (the network, a slow hop).
      const answeringLate = simulatorBut(simulator, {
        authorize: async (request, signal) => {
          if (calls++ > 0) return simulator.authorize(request, signal);
          await simulator.authorize(request);
          await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
          throw new GatewayAborted('the answer came after the deadline');
        },
      });
      const driver = new CheckoutDriver({ handle: createCommandHandler({ store: testStore.store, ids: uuidV7Ids }), gateway: answeringLate, clock: systemClock, policy: { ...DEFAULT_CHECKOUT_POLICY, paymentTimeoutMs: 200 } });

      await expect(driver.drive(orderId, { isNew: true })).resolves.toMatchObject({ status: 'completed', step: 'done' });
      expect(calls).toBe(2);
      expect(await authorizationsSince(earlier)).toEqual([expect.objectContaining({ capturedCents: TOTAL_CENTS, refundedCents: 0, status: 'captured' })]);
    });

    it('times the attempt out when the gateway gives no answer again, and compensates', async () => {
      const orderId = '0190a000-0000-7000-8000-0000000000cf';
      const { simulator } = await killedAtItsFirstDrive(orderId, 'd', 'tok_timeout');

      await expect(pastTheDeadline(simulator).drive(orderId)).resolves.toMatchObject({ status: 'compensated', step: 'done' });
      const steps = (await testStore.store.readStream(checkoutStreamId(orderId))).map((event) => event.type);
      expect(steps).toEqual(['CheckoutStarted', 'CheckoutItemsReserved', 'CheckoutPaymentTimedOut', 'CheckoutItemReleased', 'CheckoutItemReleased', 'CheckoutOrderCancelled', 'CheckoutCompensated']);
    });
  });
});
