import { BusinessRuleViolation, type Clock, type CommandOptions, type HandleCommand } from '@tidings/core';
import { commitStock, productStreamId, releaseStock, reserveStock } from '@tidings/inventory';
import { cancelOrder, confirmOrder, orderStreamId, type Order } from '@tidings/orders';
import { GatewayAborted, GatewayRefused, GatewayUnavailable, paymentStreamId, recordPayment, type Authorization, type AuthorizeRequest, type PaymentEvent, type PaymentGateway } from '@tidings/payments';
import { checkoutStreamId, initialCheckout, type CheckoutEvent, type CheckoutState, type SagaStatus, type StartedCheckout } from './checkout';
import { CANCELLED_BY_THE_CUSTOMER, compensationAsked, nextStep, type OrderSignals, type Reservation, type Step } from './next-step/next-step';
import { recordCheckoutStep, StepRefused } from './record-step/record-step';

export type CheckoutPolicy = Readonly<{
  /** How long an authorization may go unanswered before the saga compensates (CHECKOUT_PAYMENT_TIMEOUT_MS). */
  paymentTimeoutMs: number;
  /** Authorization attempts after transient gateway failures, the first included, before compensating. */
  maxPaymentAttempts: number;
  /** First retry delay; doubled per attempt, up to 30 s. */
  retryBaseMs: number;
  /**
   * How long the gateway is given to answer again, under the attempt's key, an authorization
   * whose answer did not come by its deadline (or was lost with a killed drive): it answers
   * what it has done, in its usual time. A gateway slower than this leaves the attempt timed out.
   */
  lateAnswerMs: number;
}>;

export const DEFAULT_CHECKOUT_POLICY: CheckoutPolicy = { paymentTimeoutMs: 30_000, maxPaymentAttempts: 5, retryBaseMs: 200, lateAnswerMs: 5_000 };

export type CheckoutDriverDeps = Readonly<{
  handle: HandleCommand;
  gateway: PaymentGateway;
  clock: Clock;
  policy: CheckoutPolicy;
}>;

/** Where a drive left the saga: its status and step, and when to drive it again (none once it needs nobody). */
export type DriveOutcome = Readonly<{ status: SagaStatus | 'new'; step: string; wakeAt?: Date; paymentAttempts: number; lastError?: string }>;

/** Steps one drive takes at most before it yields (a saga has well under this many). */
const MAX_STEPS = 200;

/**
 * Runs a checkout saga as far as it can go now: decides the next step from the saga's stream
 * (nextStep), carries it out on the other streams and the gateway under ids derived from the
 * saga — so a step done twice has its effect once — and records its outcome on the saga's
 * stream. Any instance may drive any saga; the records' expected versions keep them in line.
 */
export class CheckoutDriver {
  constructor(private readonly deps: CheckoutDriverDeps) {}

  /** `isNew`: the saga has most likely recorded nothing yet; it starts without reading its stream (a wrong guess costs a read). */
  async drive(orderId: string, { isNew = false }: Readonly<{ isNew?: boolean }> = {}): Promise<DriveOutcome> {
    let saga = isNew ? initialCheckout() : await this.saga(orderId);
    // Read once per drive: a cancellation requested during it nudges the saga into another drive.
    let order = await this.order(orderId);
    for (let taken = 0; taken < MAX_STEPS; taken++) {
      if (order.status === 'none') order = await this.order(orderId);
      const now = this.deps.clock.now();
      const step = nextStep(saga, signalsOf(order), now);
      if (step.kind === 'idle') return outcomeOf(saga, 'done');
      if (step.kind === 'wait') return { ...outcomeOf(saga, 'payment retry'), wakeAt: new Date(step.until) };
      if (step.kind === 'start' && order.status === 'none') return { ...outcomeOf(saga, 'waiting for the order'), wakeAt: new Date(now.getTime() + 1_000) };
      saga = await this.take(orderId, saga, step, order);
    }
    return { ...outcomeOf(saga, 'yielded'), wakeAt: this.deps.clock.now() };
  }

  /** Read through the command handler: the steps recorded next start from this read, not from another. */
  private async saga(orderId: string): Promise<CheckoutState> {
    return (await this.deps.handle.current(recordCheckoutStep, checkoutStreamId(orderId))).state;
  }

  private async order(orderId: string): Promise<Order> {
    return (await this.deps.handle.current(confirmOrder, orderStreamId(orderId))).state;
  }

  private async take(orderId: string, saga: CheckoutState, step: Step, order: Order): Promise<CheckoutState> {
    const record = (event: CheckoutEvent, discriminator: string = event.type) => this.record(orderId, event, discriminator);
    switch (step.kind) {
      case 'start': {
        if (order.status === 'none') return saga;
        const { customerId, items, totalCents, currency, paymentToken } = order;
        // Decided on the saga as this drive found it: a stream that has events after all refuses the append, and it is decided again on them.
        return this.record(orderId, { type: 'CheckoutStarted', data: { orderId, customerId, items, totalCents, currency, paymentToken } }, 'CheckoutStarted', { likelyNew: true });
      }
      case 'compensate':
        return record({ type: 'CheckoutCompensationStarted', data: { orderId, reason: step.reason, actor: step.actor } });
      case 'reserve':
        return this.reserve(orderId, step, record);
      case 'authorize':
        return this.authorize(orderId, started(saga), step, record);
      case 'time-out':
        // No drive watched the attempt to its deadline (its process was killed, maybe after the
        // gateway authorized): past its deadline, the gateway still has the late answer's chance
        // to say what it did; only without one does the attempt time out.
        return this.authorize(orderId, started(saga), { kind: 'authorize', attempt: step.attempt, deadline: this.deps.clock.now().toISOString() }, record);
      case 'confirm':
        return this.confirm(orderId, started(saga), step, record);
      case 'complete':
        return this.complete(orderId, step, record);
      case 'void': {
        // A capture in flight when compensation began (a customer's cancellation) went through at
        // the gateway but could not be recorded here: its void is refused, so it is refunded.
        const refundInstead = () => this.take(orderId, saga, { kind: 'refund', authorizationId: step.authorizationId }, order);
        const refused = await this.atGateway(orderId, 'void', () => this.deps.gateway.void({ idempotencyKey: `${checkoutStreamId(orderId)}:void`, authorizationId: step.authorizationId }), record, refundInstead);
        if (refused) return refused;
        await this.recordPayment(orderId, { type: 'PaymentVoided', data: { orderId, authorizationId: step.authorizationId } });
        return record({ type: 'CheckoutPaymentVoided', data: { orderId, authorizationId: step.authorizationId } });
      }
      case 'refund': {
        const { totalCents } = started(saga);
        const refused = await this.atGateway(orderId, 'refund', () => this.deps.gateway.refund({ idempotencyKey: `${checkoutStreamId(orderId)}:refund`, authorizationId: step.authorizationId, amountCents: totalCents }), record);
        if (refused) return refused;
        // The capture may be on the payment stream already, or only at the gateway when a void fell back to this refund.
        await this.recordPayment(orderId, { type: 'PaymentCaptured', data: { orderId, authorizationId: step.authorizationId, amountCents: totalCents } });
        await this.recordPayment(orderId, { type: 'PaymentRefunded', data: { orderId, authorizationId: step.authorizationId, amountCents: totalCents } });
        return record({ type: 'CheckoutPaymentRefunded', data: { orderId, authorizationId: step.authorizationId } });
      }
      case 'release':
        try {
          await this.deps.handle(releaseStock, productStreamId(step.sku), { type: 'ReleaseStock', data: { sku: step.sku, reservationId: step.reservationId }, metadata: this.metadata(orderId, `release:${step.sku}`) });
          return record({ type: 'CheckoutItemReleased', data: { orderId, sku: step.sku } }, `release:${step.sku}`);
        } catch (error) {
          // A sku that was never registered holds nothing to release.
          if (error instanceof BusinessRuleViolation && error.code === 'product-not-found') return record({ type: 'CheckoutItemReleased', data: { orderId, sku: step.sku } }, `release:${step.sku}`);
          return this.failed(orderId, `release ${step.sku}`, error, record);
        }
      case 'cancel':
        try {
          await this.deps.handle(cancelOrder, orderStreamId(orderId), { type: 'CancelOrder', data: { orderId, reason: step.reason }, metadata: this.metadata(orderId, 'cancel') });
          return record({ type: 'CheckoutOrderCancelled', data: { orderId, reason: step.reason } });
        } catch (error) {
          return this.failed(orderId, 'cancel', error, record);
        }
      case 'finish-compensation':
        return record({ type: 'CheckoutCompensated', data: { orderId, reason: step.reason } });
      default:
        return saga;
    }
  }

  /** Reserves every item at once; the saga records them all reserved (and the first payment attempt begun), or the first that is not. */
  private async reserve(orderId: string, step: Extract<Step, { kind: 'reserve' }>, record: Recorder): Promise<CheckoutState> {
    const outcomes = await Promise.all(step.items.map((reservation) => this.reserveItem(orderId, reservation)));
    const unavailable = outcomes.find((outcome) => outcome.available !== undefined);
    if (unavailable) return record({ type: 'CheckoutItemUnavailable', data: { orderId, sku: unavailable.sku, reservationId: unavailable.reservationId, available: unavailable.available ?? 0 } }, `reserve:${unavailable.sku}`);
    // The first authorization attempt begins with the reservation, under the deadline recorded with it.
    const paymentDeadline = new Date(this.deps.clock.now().getTime() + this.deps.policy.paymentTimeoutMs).toISOString();
    return record({ type: 'CheckoutItemsReserved', data: { orderId, items: outcomes.map(({ sku, reservationId }) => ({ sku, reservationId })), paymentDeadline } }, 'reserve');
  }

  /** `available` when the item could not be reserved. */
  private async reserveItem(orderId: string, { item: { sku, quantity }, reservationId }: Reservation): Promise<{ sku: string; reservationId: string; available?: number }> {
    try {
      const result = await this.deps.handle(reserveStock, productStreamId(sku), { type: 'ReserveStock', data: { sku, reservationId, quantity }, metadata: this.metadata(orderId, `reserve:${sku}`) });
      const product = result.state;
      const reservation = product.status === 'registered' ? product.reservations.get(reservationId) : undefined;
      if (reservation?.status === 'reserved' || reservation?.status === 'committed') return { sku, reservationId };
      // Rejected, or already closed by a compensation that overtook this reserve.
      return { sku, reservationId, available: product.status === 'registered' ? product.onHand - product.reserved : 0 };
    } catch (error) {
      if (error instanceof BusinessRuleViolation && error.code === 'product-not-found') return { sku, reservationId, available: 0 };
      throw error;
    }
  }

  /**
   * Captures the payment and confirms the order: from here on the checkout goes forward only.
   * The order is looked at again first: a cancellation asked for during this drive is met with a
   * void, not a charge and a refund.
   */
  private async confirm(orderId: string, saga: StartedCheckout, step: Extract<Step, { kind: 'confirm' }>, record: Recorder): Promise<CheckoutState> {
    const asked = compensationAsked(signalsOf(await this.order(orderId)));
    if (asked) return record({ type: 'CheckoutCompensationStarted', data: { orderId, ...asked } });
    const { authorizationId } = step;
    const refused = await this.atGateway(orderId, 'capture', () => this.deps.gateway.capture({ idempotencyKey: `${checkoutStreamId(orderId)}:capture`, authorizationId, amountCents: saga.totalCents }), record);
    if (refused) return refused;
    // The capture's record and the confirmation are on streams of their own, so they go together; a drive killed
    // between them takes this step again, and what was done already changes nothing.
    const [captured, confirmed] = await Promise.allSettled([
      this.recordPayment(orderId, { type: 'PaymentCaptured', data: { orderId, authorizationId, amountCents: saga.totalCents } }),
      this.deps.handle(confirmOrder, orderStreamId(orderId), { type: 'ConfirmOrder', data: { orderId }, metadata: this.metadata(orderId, 'confirm') }),
    ]);
    if (captured.status === 'rejected') throw captured.reason;
    if (confirmed.status === 'rejected') {
      const error: unknown = confirmed.reason;
      // A cancellation (the customer's, an operator's) reached the order first: it wins, and the saga compensates (refunding the capture).
      if (error instanceof BusinessRuleViolation && error.code === 'order-cancelled') {
        const asked = compensationAsked(signalsOf(await this.order(orderId))) ?? { reason: CANCELLED_BY_THE_CUSTOMER, actor: 'customer' };
        return record({ type: 'CheckoutCompensationStarted', data: { orderId, ...asked } });
      }
      return this.failed(orderId, 'confirm', error, record);
    }
    return record({ type: 'CheckoutOrderConfirmed', data: { orderId } }).catch((error: unknown) => this.failed(orderId, 'confirm', error, record));
  }

  /** Commits every item's stock at once (sold), then completes; a commit that fails waits for an operator. */
  private async complete(orderId: string, step: Extract<Step, { kind: 'complete' }>, record: Recorder): Promise<CheckoutState> {
    const commits = await Promise.allSettled(
      step.items.map(({ item: { sku }, reservationId }) =>
        this.deps.handle(commitStock, productStreamId(sku), { type: 'CommitStock', data: { sku, reservationId }, metadata: this.metadata(orderId, `commit:${sku}`) }),
      ),
    );
    const failed = commits.findIndex((commit) => commit.status === 'rejected');
    if (failed >= 0) return this.failed(orderId, `commit ${step.items[failed].item.sku}`, (commits[failed] as PromiseRejectedResult).reason, record);
    return record({ type: 'CheckoutCompleted', data: { orderId } });
  }

  private async authorize(orderId: string, saga: StartedCheckout, step: Extract<Step, { kind: 'authorize' }>, record: Recorder): Promise<CheckoutState> {
    const now = this.deps.clock.now();
    const deadline = step.deadline ?? new Date(now.getTime() + this.deps.policy.paymentTimeoutMs).toISOString();
    // The first attempt began with the reservation, under its deadline; a retry (or a saga of an earlier version) records its attempt here.
    if (!step.deadline) await record({ type: 'CheckoutPaymentAttempted', data: { orderId, attempt: step.attempt, deadline } }, `attempt:${step.attempt}`);
    const remainingMs = Math.max(0, Date.parse(deadline) - now.getTime());
    const firstAttempt = step.attempt === 1;
    try {
      const authorization = await this.authorizeWithin(
        { idempotencyKey: `${checkoutStreamId(orderId)}:authorize`, token: saga.paymentToken, amountCents: saga.totalCents, currency: saga.currency },
        remainingMs,
      );
      if (authorization.outcome === 'declined') {
        await this.recordPayment(orderId, { type: 'PaymentDeclined', data: { orderId, reason: authorization.reason } }, { likelyNew: firstAttempt });
        return await this.recordEndOfAttempt(orderId, record, { type: 'CheckoutPaymentDeclined', data: { orderId, reason: authorization.reason } });
      }
      const { authorizationId } = authorization;
      await this.recordPayment(orderId, { type: 'PaymentAuthorized', data: { orderId, authorizationId, amountCents: saga.totalCents, currency: saga.currency } }, { likelyNew: firstAttempt });
      try {
        return await record({ type: 'CheckoutPaymentAuthorized', data: { orderId, authorizationId } });
      } catch (error) {
        // Another drive recorded what this attempt came to after compensation began (a time-out, say): nothing is left authorized.
        if (!(error instanceof StepRefused)) throw error;
        await this.deps.gateway.void({ idempotencyKey: `${checkoutStreamId(orderId)}:void`, authorizationId });
        await this.recordPayment(orderId, { type: 'PaymentVoided', data: { orderId, authorizationId } });
        return this.saga(orderId);
      }
    } catch (error) {
      if (error instanceof GatewayAborted) return this.recordEndOfAttempt(orderId, record, { type: 'CheckoutPaymentTimedOut', data: { orderId, attempt: step.attempt } });
      if (!(error instanceof GatewayUnavailable)) throw error;
      const gaveUp = step.attempt >= this.deps.policy.maxPaymentAttempts;
      const retryAt = new Date(now.getTime() + Math.min(this.deps.policy.retryBaseMs * 2 ** (step.attempt - 1), 30_000)).toISOString();
      await this.recordPayment(orderId, { type: 'PaymentAttemptFailed', data: { orderId, operation: 'authorize', attempt: step.attempt, error: error.message } }, { discriminator: `failed:${step.attempt}`, likelyNew: firstAttempt });
      const after = await this.recordUnlessCompensating(orderId, record, { type: 'CheckoutPaymentFailed', data: { orderId, attempt: step.attempt, error: error.message, gaveUp, ...(gaveUp ? {} : { retryAt }) } }, `failed:${step.attempt}`);
      // Compensating, the attempt's answer is still unknown: the drive fails, and the next one (after its backoff) asks the gateway again before anything is released.
      if (after.status === 'compensating' && after.payment.status === 'attempting') throw error;
      return after;
    }
  }

  /**
   * A payment attempt that ends the checkout's course (declined, timed out). A cancellation asked
   * of the order while the gateway was answering came first: it is why the checkout compensates
   * (recorded first, with who asked), and the attempt's outcome settles the open attempt.
   */
  private async recordEndOfAttempt(orderId: string, record: Recorder, event: CheckoutEvent): Promise<CheckoutState> {
    const asked = compensationAsked(signalsOf(await this.order(orderId)));
    if (asked) await record({ type: 'CheckoutCompensationStarted', data: { orderId, ...asked } });
    return this.recordUnlessCompensating(orderId, record, event);
  }

  /**
   * What a payment attempt came to, when the saga still goes forward: compensation begun while
   * the gateway was answering (an operator's, a customer's cancellation) refuses the record, and
   * the drive goes on with the compensation rather than failing over an outcome that no longer matters.
   */
  private async recordUnlessCompensating(orderId: string, record: Recorder, event: CheckoutEvent, discriminator?: string): Promise<CheckoutState> {
    try {
      return await record(event, discriminator);
    } catch (error) {
      if (error instanceof StepRefused && error.code === 'forward-step-refused') return this.saga(orderId);
      throw error;
    }
  }

  /**
   * The gateway's answer to an authorization within `ms` — or, failing that, the late answer:
   * the gateway may have done it and the answer been lost on the way (or with a killed process),
   * and asked again under the key it says what it did. GatewayAborted when it says nothing.
   */
  private async authorizeWithin(request: AuthorizeRequest, ms: number): Promise<Authorization> {
    try {
      if (ms > 0) return await this.deps.gateway.authorize(request, AbortSignal.timeout(ms));
    } catch (error) {
      if (!(error instanceof GatewayAborted)) throw error;
    }
    return this.deps.gateway.authorize(request, AbortSignal.timeout(this.deps.policy.lateAnswerMs));
  }

  /**
   * A capture, void or refund: undefined once done, else the saga as it now stands. A transient
   * failure throws, leaving the step to the next drive (the saga's wake-up backs off); a refusal
   * goes to `onRefused`, or fails the saga for an operator.
   */
  private async atGateway(orderId: string, operation: string, call: () => Promise<unknown>, record: Recorder, onRefused?: () => Promise<CheckoutState>): Promise<CheckoutState | undefined> {
    try {
      await call();
      return undefined;
    } catch (error) {
      if (!(error instanceof GatewayRefused)) throw error;
      if (onRefused) return onRefused();
      await this.failed(orderId, operation, error, record);
      return this.saga(orderId);
    }
  }

  private async failed(orderId: string, step: string, error: unknown, record: Recorder): Promise<CheckoutState> {
    if (!(error instanceof BusinessRuleViolation) && !(error instanceof GatewayRefused)) throw error;
    return record({ type: 'CheckoutStepFailed', data: { orderId, step, error: error.message } }, `failed:${step}`);
  }

  /** `likelyNew`: the first authorization attempt's outcome is the payment stream's first event. */
  private async recordPayment(orderId: string, event: PaymentEvent, { discriminator = event.type, likelyNew = false }: { discriminator?: string; likelyNew?: boolean } = {}): Promise<void> {
    await this.deps.handle(recordPayment, paymentStreamId(orderId), { type: 'RecordPayment', data: { event }, metadata: this.metadata(orderId, `payment:${discriminator}`) }, { likelyNew });
  }

  private async record(orderId: string, event: CheckoutEvent, discriminator: string, options: CommandOptions = {}): Promise<CheckoutState> {
    const result = await this.deps.handle(recordCheckoutStep, checkoutStreamId(orderId), { type: 'RecordCheckoutStep', data: event, metadata: this.metadata(orderId, `record:${discriminator}`) }, options);
    return result.state;
  }

  /** Ids derived from the saga and the step: a step taken again is recognised downstream. */
  private metadata(orderId: string, step: string) {
    const sagaId = checkoutStreamId(orderId);
    return { commandId: `${sagaId}:${step}`, correlationId: orderId, causationId: sagaId, actor: 'checkout', now: this.deps.clock.now() };
  }
}

type Recorder = (event: CheckoutEvent, discriminator?: string) => Promise<CheckoutState>;

/** Whether the order's customer or an operator asked to cancel it, and why. */
const signalsOf = (order: Order): OrderSignals =>
  order.status !== 'none' && order.cancellationRequestedBy
    ? { cancellationRequestedBy: order.cancellationRequestedBy, ...(order.cancellationRequestReason !== undefined ? { cancellationReason: order.cancellationRequestReason } : {}) }
    : {};

function started(saga: CheckoutState): StartedCheckout {
  if (saga.status === 'new') throw new Error('the checkout has not started');
  return saga;
}

function outcomeOf(saga: CheckoutState, step: string): DriveOutcome {
  if (saga.status === 'new') return { status: 'new', step, paymentAttempts: 0 };
  return {
    status: saga.status,
    step: saga.status === 'failed' ? `failed at ${saga.failure?.step ?? 'unknown'}` : step,
    paymentAttempts: saga.payment.attempt,
    ...(saga.lastError ? { lastError: saga.lastError } : {}),
  };
}
