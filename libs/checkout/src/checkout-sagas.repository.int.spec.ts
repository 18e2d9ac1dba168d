import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@tidings/testing';
import { claimDueCheckouts, deferCheckout, listCheckouts, nudgeCheckouts, recoverClaim, scheduleCheckouts, settleCheckouts } from './checkout-sagas.repository';

describe('checkout saga claims', () => {
  const { pool } = useTestDatabase();

  it('finds what a claim took by its id while its lease lasts, and nothing for a claim that took nothing', async () => {
    await scheduleCheckouts(pool, ['order-a', 'order-b', 'order-c']);
    const claim = randomUUID();
    const claimed = await claimDueCheckouts(pool, 2, 60_000, claim);
    expect(claimed).toHaveLength(2);

    const recovered = await recoverClaim(pool, 60_000, claim);
    expect(recovered.map(({ orderId }) => orderId).sort()).toEqual(claimed.map(({ orderId }) => orderId).sort());
    expect(recovered.every(({ isNew }) => isNew)).toBe(true);
    // Claimed when the lease began, not later: a nudge while it was lost still counts.
    for (const { orderId, claimedAt } of recovered) expect(claimedAt.getTime()).toBeLessThanOrEqual((claimed.find((one) => one.orderId === orderId)?.claimedAt as Date).getTime());
    expect(await recoverClaim(pool, 60_000, randomUUID())).toEqual([]);

    // Once its lease is over the sagas are anybody's again: the claim no longer holds them.
    const short = randomUUID();
    expect(await claimDueCheckouts(pool, 5, 0, short)).toHaveLength(1);
    expect(await recoverClaim(pool, 0, short)).toEqual([]);
  });

  it('settles and defers a saga only under the claim that holds it: a drive whose lease ran out cannot cut the next claim short', async () => {
    // Only this saga is due.
    await pool.query('UPDATE checkout_sagas SET due_at = NULL');
    await scheduleCheckouts(pool, ['order-late']);
    // The first claim's lease runs out at once; a second claim takes the saga for a minute.
    const [late] = await claimDueCheckouts(pool, 1, 0, randomUUID());
    const [current] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    expect([late.orderId, current.orderId]).toEqual(['order-late', 'order-late']);
    const row = async () => (await pool.query<{ status: string; drive_failures: number; leased: boolean }>("SELECT status, drive_failures, due_at > now() + interval '50 seconds' AS leased FROM checkout_sagas WHERE order_id = 'order-late'")).rows[0];

    await deferCheckout(pool, late, 'the late drive failed');
    await settleCheckouts(pool, [{ claim: late, outcome: { status: 'compensated', step: 'done', paymentAttempts: 1 } }]);
    expect(await row()).toEqual({ status: 'new', drive_failures: 0, leased: true });

    await settleCheckouts(pool, [{ claim: current, outcome: { status: 'completed', step: 'done', paymentAttempts: 1 } }]);
    expect(await row()).toMatchObject({ status: 'completed', drive_failures: 0 });
  });

  it('says of a claim whether its row shows the saga ended: a nudge after the end finds it so, a drive that died before settling does not', async () => {
    await pool.query('UPDATE checkout_sagas SET due_at = NULL');
    await scheduleCheckouts(pool, ['order-ended']);
    const [first] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    expect(first).toMatchObject({ orderId: 'order-ended', isNew: true, settled: false });
    await settleCheckouts(pool, [{ claim: first, outcome: { status: 'running', step: 'payment retry', paymentAttempts: 1 } }]);
    await pool.query("UPDATE checkout_sagas SET due_at = now() WHERE order_id = 'order-ended'");
    const [second] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    expect(second).toMatchObject({ isNew: false, settled: false });
    await settleCheckouts(pool, [{ claim: second, outcome: { status: 'compensated', step: 'done', paymentAttempts: 1 } }]);
    await nudgeCheckouts(pool, ['order-ended']);
    const [nudged] = await claimDueCheckouts(pool, 1, 60_000, randomUUID());
    expect(nudged).toMatchObject({ orderId: 'order-ended', settled: true });
  });

  it('lists sagas a page at a time, and a page that ends the list has no next', async () => {
    await scheduleCheckouts(pool, ['order-list-1', 'order-list-2', 'order-list-3']);
    const all = (await listCheckouts(pool, { limit: 100 })).items.map(({ sagaId }) => sagaId);
    const exactly = await listCheckouts(pool, { limit: all.length });
    expect(exactly.items.map(({ sagaId }) => sagaId)).toEqual(all);
    expect(exactly.last).toBeUndefined();
    const first = await listCheckouts(pool, { limit: all.length - 1 });
    expect(first.last).toBe(all[all.length - 2]);
    expect(await listCheckouts(pool, { limit: all.length, after: first.last })).toEqual({ items: [expect.objectContaining({ sagaId: all[all.length - 1] })] });
  });
});
