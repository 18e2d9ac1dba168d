import { randomUUID } from 'node:crypto';
import { eventually, useTestDatabase } from '@tidings/testing';
import { GatewayAborted, GatewayRefused, GatewayUnavailable } from './payment-gateway';
import { SimulatedPaymentGateway } from './simulated-payment.gateway';

describe('SimulatedPaymentGateway, on PostgreSQL', () => {
  const { pool } = useTestDatabase();
  const gateway = new SimulatedPaymentGateway(pool);

  const key = () => `key-${randomUUID()}`;
  const authorize = (token: string, idempotencyKey = key(), amountCents = 2500) =>
    gateway.authorize({ idempotencyKey, token, amountCents, currency: 'USD' });
  const authorizedId = async (amountCents = 2500): Promise<string> => {
    const authorization = await authorize('tok_visa', key(), amountCents);
    if (authorization.outcome !== 'authorized') throw new Error('tok_visa was declined');
    return authorization.authorizationId;
  };
  const entry = async (authorizationId: string) => (await SimulatedPaymentGateway.ledger(pool)).get(authorizationId);
  const authorizationCount = async () => (await SimulatedPaymentGateway.ledger(pool)).size;

  describe('authorize', () => {
    it('authorizes tok_visa and books the authorization', async () => {
      const authorization = await authorize('tok_visa', key(), 4200);

      expect(authorization).toEqual({ outcome: 'authorized', authorizationId: expect.stringMatching(/^auth_[0-9a-f-]{36}$/) });
      if (authorization.outcome !== 'authorized') return;
      expect(await entry(authorization.authorizationId)).toEqual({ amountCents: 4200, capturedCents: 0, refundedCents: 0, status: 'authorized' });
    });

    it('declines tok_chargeDeclined as card_declined, and answers a retry the same', async () => {
      const idempotencyKey = key();
      const before = await authorizationCount();

      await expect(authorize('tok_chargeDeclined', idempotencyKey)).resolves.toEqual({ outcome: 'declined', reason: 'card_declined' });
      await expect(authorize('tok_chargeDeclined', idempotencyKey)).resolves.toEqual({ outcome: 'declined', reason: 'card_declined' });
      expect(await authorizationCount()).toBe(before);
    });

    it('declines any other token as invalid_token', async () => {
      await expect(authorize('tok_unknown')).resolves.toEqual({ outcome: 'declined', reason: 'invalid_token' });
    });

    it('replays an authorization under the same key: one authorization, the same id', async () => {
      const idempotencyKey = key();
      const before = await authorizationCount();

      const first = await authorize('tok_visa', idempotencyKey);
      const again = await authorize('tok_visa', idempotencyKey);

      expect(again).toEqual(first);
      expect(await authorizationCount()).toBe(before + 1);
    });

    it('refuses a key reused for another request', async () => {
      const idempotencyKey = key();
      await authorize('tok_visa', idempotencyKey, 2500);

      await expect(authorize('tok_visa', idempotencyKey, 9900)).rejects.toThrow(GatewayRefused);
      await expect(authorize('tok_chargeDeclined', idempotencyKey, 2500)).rejects.toThrow(GatewayRefused);
    });

    it('is unavailable for the first two attempts of tok_unavailable_2, then authorizes, counting the failures', async () => {
      const idempotencyKey = key();

      await expect(authorize('tok_unavailable_2', idempotencyKey)).rejects.toThrow(GatewayUnavailable);
      await expect(authorize('tok_unavailable_2', idempotencyKey)).rejects.toThrow(GatewayUnavailable);
      const authorization = await authorize('tok_unavailable_2', idempotencyKey);

      expect(authorization.outcome).toBe('authorized');
      await expect(authorize('tok_unavailable_2', idempotencyKey)).resolves.toEqual(authorization);
      const { rows } = await pool.query('SELECT failures, outcome FROM payment_simulator_operations WHERE idempotency_key = $1', [idempotencyKey]);
      expect(rows).toEqual([{ failures: 2, outcome: 'authorized' }]);
    });

    it('is unavailable for good with a tok_unavailable_<n> beyond any count it keeps', async () => {
      const idempotencyKey = key();
      await expect(authorize('tok_unavailable_99999999999999999999', idempotencyKey)).rejects.toThrow(GatewayUnavailable);
      await expect(authorize('tok_unavailable_99999999999999999999', idempotencyKey)).rejects.toThrow(GatewayUnavailable);
    });

    it('counts each failure once when calls under one key race, then answers one authorization', async () => {
      const idempotencyKey = key();
      const before = await authorizationCount();

      const results = await Promise.allSettled(Array.from({ length: 8 }, () => authorize('tok_unavailable_3', idempotencyKey)));

      expect(results.filter((result) => result.status === 'rejected' && result.reason instanceof GatewayUnavailable)).toHaveLength(3);
      const answers = results.flatMap((result) => (result.status === 'fulfilled' ? [JSON.stringify(result.value)] : []));
      expect(answers).toHaveLength(5);
      expect(new Set(answers).size).toBe(1);
      expect(await authorizationCount()).toBe(before + 1);
      const { rows } = await pool.query('SELECT failures, outcome FROM payment_simulator_operations WHERE idempotency_key = $1', [idempotencyKey]);
      expect(rows).toEqual([{ failures: 3, outcome: 'authorized' }]);
    });

    it('never answers tok_timeout until the caller aborts', async () => {
      const controller = new AbortController();
      const call = gateway.authorize({ idempotencyKey: key(), token: 'tok_timeout', amountCents: 2500, currency: 'USD' }, controller.signal);
      const settled = jest.fn();
      call.then(settled, settled);

      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(settled).not.toHaveBeenCalled();
      controller.abort();
      await expect(call).rejects.toThrow(GatewayAborted);
    });

    it('gives up during its latency when the caller aborts, having done nothing', async () => {
      const slow = new SimulatedPaymentGateway(pool, { latencyMs: 10_000 });
      const idempotencyKey = key();
      const started = Date.now();

      await expect(slow.authorize({ idempotencyKey, token: 'tok_visa', amountCents: 2500, currency: 'USD' }, AbortSignal.timeout(50))).rejects.toThrow(GatewayAborted);

      expect(Date.now() - started).toBeLessThan(5_000);
      const { rowCount } = await pool.query('SELECT 1 FROM payment_simulator_operations WHERE idempotency_key = $1', [idempotencyKey]);
      expect(rowCount).toBe(0);
    });

    it('books one authorization when ten calls under one key race', async () => {
      const idempotencyKey = key();
      const before = await authorizationCount();

      const answers = await Promise.all(Array.from({ length: 10 }, () => authorize('tok_visa', idempotencyKey)));

      expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      expect(await authorizationCount()).toBe(before + 1);
    });
  });

  describe('capture', () => {
    it('captures an authorization, and answers a retry under the same key the same', async () => {
      const authorizationId = await authorizedId(2500);
      const idempotencyKey = key();

      const capture = await gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 });

      await expect(gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 })).resolves.toEqual(capture);
      expect(await entry(authorizationId)).toEqual({ amountCents: 2500, capturedCents: 2500, refundedCents: 0, status: 'captured' });
    });

    it('refuses a second capture under another key', async () => {
      const authorizationId = await authorizedId();
      await gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 });

      await expect(gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 })).rejects.toThrow(GatewayRefused);
    });

    it('captures once when ten captures under different keys race', async () => {
      const authorizationId = await authorizedId();

      const results = await Promise.allSettled(Array.from({ length: 10 }, () => gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 })));

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((result) => result.status === 'rejected' && result.reason instanceof GatewayRefused)).toHaveLength(9);
      expect(await entry(authorizationId)).toMatchObject({ capturedCents: 2500, status: 'captured' });
    });

    it('captures once when ten captures under one key race, and answers each the same', async () => {
      const authorizationId = await authorizedId();
      const idempotencyKey = key();

      const captures = await Promise.all(Array.from({ length: 10 }, () => gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 })));

      expect(captures).toEqual(Array.from({ length: 10 }, () => ({ captureId: `cap_${authorizationId}` })));
      expect(await entry(authorizationId)).toMatchObject({ capturedCents: 2500, status: 'captured' });
    });

    it('refuses a key reused for another authorization or another operation', async () => {
      const authorizationId = await authorizedId();
      const idempotencyKey = key();
      await gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 });

      await expect(gateway.capture({ idempotencyKey, authorizationId: await authorizedId(), amountCents: 2500 })).rejects.toThrow(/was used for another request/);
      await expect(gateway.refund({ idempotencyKey, authorizationId, amountCents: 2500 })).rejects.toThrow(/was used for another request/);
      expect(await entry(authorizationId)).toMatchObject({ refundedCents: 0, status: 'captured' });
    });

    it('captures when the caller gives up while the gateway works, and answers the retry', async () => {
      const authorizationId = await authorizedId();
      const idempotencyKey = key();
      const controller = new AbortController();
      // Another transaction holds the authorization, so the capture waits inside the gateway.
      const holder = await pool.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM payment_simulator_authorizations WHERE authorization_id = $1 FOR UPDATE', [authorizationId]);
      // Its failure is taken as it comes: it may come while the test still waits for the holder's COMMIT, and unheard it would end the test.
      const capture = gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 }, controller.signal).catch((error: unknown) => error);
      await eventually(async () => {
        const { rows } = await pool.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        expect(rows).toHaveLength(1);
      });

      controller.abort();
      await holder.query('COMMIT');
      holder.release();

      expect(await capture).toBeInstanceOf(GatewayAborted);
      expect(await entry(authorizationId)).toMatchObject({ capturedCents: 2500, status: 'captured' });
      await expect(gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 })).resolves.toEqual({ captureId: `cap_${authorizationId}` });
    });

    it('refuses a capture larger than the authorization, and an unknown authorization', async () => {
      const authorizationId = await authorizedId(2500);

      await expect(gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2501 })).rejects.toThrow(GatewayRefused);
      await expect(gateway.capture({ idempotencyKey: key(), authorizationId: 'auth_unknown', amountCents: 1 })).rejects.toThrow(GatewayRefused);
      expect(await entry(authorizationId)).toMatchObject({ status: 'authorized' });
    });

    it('refuses a capture of a voided authorization, and keeps refusing under that key', async () => {
      const authorizationId = await authorizedId();
      await gateway.void({ idempotencyKey: key(), authorizationId });
      const idempotencyKey = key();

      await expect(gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 })).rejects.toThrow(GatewayRefused);
      await expect(gateway.capture({ idempotencyKey, authorizationId, amountCents: 2500 })).rejects.toThrow(GatewayRefused);
      expect(await entry(authorizationId)).toMatchObject({ capturedCents: 0, status: 'voided' });
    });
  });

  describe('void', () => {
    it('voids an authorization; voiding it again is a no-op', async () => {
      const authorizationId = await authorizedId();

      await gateway.void({ idempotencyKey: key(), authorizationId });
      await gateway.void({ idempotencyKey: key(), authorizationId });

      expect(await entry(authorizationId)).toMatchObject({ status: 'voided' });
    });

    it('refuses to void a captured authorization', async () => {
      const authorizationId = await authorizedId();
      await gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 });

      await expect(gateway.void({ idempotencyKey: key(), authorizationId })).rejects.toThrow(GatewayRefused);
      expect(await entry(authorizationId)).toMatchObject({ status: 'captured' });
    });

    it('lets one of a void and a capture racing on one authorization through, and refuses the other', async () => {
      const authorizationId = await authorizedId();

      const [voiding, capturing] = await Promise.allSettled([
        gateway.void({ idempotencyKey: key(), authorizationId }),
        gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 }),
      ]);

      expect([voiding.status, capturing.status].sort()).toEqual(['fulfilled', 'rejected']);
      const refused = voiding.status === 'rejected' ? voiding : capturing;
      expect(refused.status === 'rejected' && refused.reason).toBeInstanceOf(GatewayRefused);
      expect(await entry(authorizationId)).toEqual(
        voiding.status === 'fulfilled'
          ? { amountCents: 2500, capturedCents: 0, refundedCents: 0, status: 'voided' }
          : { amountCents: 2500, capturedCents: 2500, refundedCents: 0, status: 'captured' },
      );
    });
  });

  describe('refund', () => {
    it('refunds a capture; refunding it again is a no-op with the same refund id', async () => {
      const authorizationId = await authorizedId();
      await gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2500 });

      const refund = await gateway.refund({ idempotencyKey: key(), authorizationId, amountCents: 2500 });

      await expect(gateway.refund({ idempotencyKey: key(), authorizationId, amountCents: 2500 })).resolves.toEqual(refund);
      expect(await entry(authorizationId)).toEqual({ amountCents: 2500, capturedCents: 2500, refundedCents: 2500, status: 'refunded' });
    });

    it('refuses a refund larger than the capture, and keeps refusing under that key', async () => {
      const authorizationId = await authorizedId(2500);
      await gateway.capture({ idempotencyKey: key(), authorizationId, amountCents: 2000 });
      const idempotencyKey = key();

      await expect(gateway.refund({ idempotencyKey, authorizationId, amountCents: 2001 })).rejects.toThrow('cannot refund 2001 of a capture of 2000');
      await expect(gateway.refund({ idempotencyKey, authorizationId, amountCents: 2001 })).rejects.toThrow(`refund under idempotency key ${idempotencyKey} was refused`);
      expect(await entry(authorizationId)).toMatchObject({ capturedCents: 2000, refundedCents: 0, status: 'captured' });
    });

    it('refuses to refund what was never captured', async () => {
      const authorizationId = await authorizedId();

      await expect(gateway.refund({ idempotencyKey: key(), authorizationId, amountCents: 2500 })).rejects.toThrow(GatewayRefused);
      expect(await entry(authorizationId)).toMatchObject({ refundedCents: 0, status: 'authorized' });
    });
  });
});
