import { randomUUID } from 'node:crypto';
import { useTestDatabase } from '@tidings/testing';
import { claimDueCheckouts, recoverClaim, scheduleCheckouts } from './checkout-sagas.repository';

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
});
