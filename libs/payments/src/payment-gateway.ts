/**
 * The port to the card processor (Stripe-like): every call carries an idempotency key, so a
 * retry after a lost answer never charges twice.
 */
export type AuthorizeRequest = Readonly<{ idempotencyKey: string; token: string; amountCents: number; currency: string }>;

export type Authorization = Readonly<{ outcome: 'authorized'; authorizationId: string }> | Readonly<{ outcome: 'declined'; reason: string }>;

export interface PaymentGateway {
  authorize(request: AuthorizeRequest, signal?: AbortSignal): Promise<Authorization>;
  capture(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ captureId: string }>;
  void(request: Readonly<{ idempotencyKey: string; authorizationId: string }>, signal?: AbortSignal): Promise<void>;
  refund(request: Readonly<{ idempotencyKey: string; authorizationId: string; amountCents: number }>, signal?: AbortSignal): Promise<{ refundId: string }>;
}

/** Transient: the gateway did not answer this time; retry later under the same key. */
export class GatewayUnavailable extends Error {
  override readonly name = 'GatewayUnavailable';
}

/** Permanent: the gateway will never do this (e.g. capture of a voided authorization). */
export class GatewayRefused extends Error {
  override readonly name = 'GatewayRefused';
}

/** The caller's signal aborted the call: whether the gateway acted is unknown, so retry under the same key. */
export class GatewayAborted extends Error {
  override readonly name = 'GatewayAborted';
}
