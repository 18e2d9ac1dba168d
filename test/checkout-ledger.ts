import type { Pool } from 'pg';
import { eventually } from '@tidings/testing';

export type PlacedOrder = Readonly<{ orderId: string; items: readonly Readonly<{ sku: string; quantity: number }>[] }>;

/** Waits until every saga has reached an end (completed or compensated): none stuck, none failed. */
export async function untilEverySagaEnds(pool: Pool, sagas: number, timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await pool.query<{ status: string; count: string }>('SELECT status, count(*) FROM checkout_sagas GROUP BY status');
      const counts = Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
      expect((counts.completed ?? 0) + (counts.compensated ?? 0)).toBe(sagas);
    },
    { timeoutMs, intervalMs: 250 },
  ).catch(async (error: Error) => {
    const { rows } = await pool.query(`SELECT saga_id, status, step, last_error, drive_failures, due_at FROM checkout_sagas WHERE status NOT IN ('completed', 'compensated') LIMIT 10`);
    throw new Error(`${error.message}\nnot ended: ${JSON.stringify(rows, null, 1)}`);
  });
}

/**
 * QUALITY.md's checkout ledger, once every saga has ended: the orders read model shows every
 * order ended; per order, captured − refunded at the gateway = total if confirmed, else 0, and
 * one authorization at most; per sku (streams `product-<skuPrefix>…`), available + reserved +
 * sold = received, never negative, nothing left reserved, each reservation's effect at most
 * once, and sold = what the confirmed orders bought. Returns the confirmed orders' ids.
 */
export async function expectCheckoutLedger(pool: Pool, orders: readonly PlacedOrder[], skuPrefix: string): Promise<Set<string>> {
  // The orders read model catches up with the store.
  const orderRows = await eventually(
    async () => {
      const { rows } = await pool.query<{ order_id: string; status: string; total_cents: string }>('SELECT order_id, status, total_cents FROM orders WHERE order_id = ANY($1)', [orders.map((order) => order.orderId)]);
      expect(rows.filter((row) => row.status !== 'placed')).toHaveLength(orders.length);
      return rows;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );

  // Per order: captured − refunded at the gateway = total if confirmed, else 0.
  const { rows: money } = await pool.query<{ order_id: string; captured: string; refunded: string; authorizations: string }>(`
    SELECT substring(o.idempotency_key from 'checkout-(.*):authorize') AS order_id,
           coalesce(sum(a.captured_cents), 0) AS captured, coalesce(sum(a.refunded_cents), 0) AS refunded, count(a.authorization_id) AS authorizations
    FROM payment_simulator_operations o LEFT JOIN payment_simulator_authorizations a ON a.authorization_id = o.authorization_id
    WHERE o.operation = 'authorize' GROUP BY 1`);
  const settledBy = new Map(money.map((row) => [row.order_id, Number(row.captured) - Number(row.refunded)]));
  const wrong = orderRows.filter((row) => (settledBy.get(row.order_id) ?? 0) !== (row.status === 'confirmed' ? Number(row.total_cents) : 0));
  expect(wrong).toEqual([]);
  expect(money.filter((row) => Number(row.authorizations) > 1)).toEqual([]);

  // Per sku, from the event store: available + reserved + sold = received, never negative; each reservation reserved, committed and released at most once.
  const { rows: stockEvents } = await pool.query<{ stream_id: string; type: string; data: { quantity: number; reservationId?: string } }>(
    `SELECT stream_id, type, data FROM events WHERE stream_id LIKE $1 ORDER BY position`,
    [`product-${skuPrefix}%`],
  );
  const perSku = new Map<string, { received: number; onHand: number; reserved: number; sold: number }>();
  const effects = new Map<string, number>();
  for (const event of stockEvents) {
    const sku = event.stream_id.slice('product-'.length);
    const ledger = perSku.get(sku) ?? { received: 0, onHand: 0, reserved: 0, sold: 0 };
    const quantity = event.data.quantity;
    if (event.type === 'StockReceived') Object.assign(ledger, { received: ledger.received + quantity, onHand: ledger.onHand + quantity });
    if (event.type === 'StockReserved') ledger.reserved += quantity;
    if (event.type === 'StockReleased') ledger.reserved -= quantity;
    if (event.type === 'StockCommitted') Object.assign(ledger, { reserved: ledger.reserved - quantity, onHand: ledger.onHand - quantity, sold: ledger.sold + quantity });
    expect(ledger.onHand - ledger.reserved).toBeGreaterThanOrEqual(0);
    expect(ledger.reserved).toBeGreaterThanOrEqual(0);
    perSku.set(sku, ledger);
    if (event.data.reservationId && event.type !== 'StockReservationRejected') {
      const effect = `${event.type}/${event.data.reservationId}`;
      effects.set(effect, (effects.get(effect) ?? 0) + 1);
    }
  }
  expect([...effects].filter(([, count]) => count > 1)).toEqual([]);
  for (const [sku, ledger] of perSku) {
    expect({ sku, balance: ledger.onHand - ledger.reserved + ledger.reserved + ledger.sold, reserved: ledger.reserved }).toEqual({ sku, balance: ledger.received, reserved: 0 });
  }
  // Confirmed orders sold exactly their quantities.
  const confirmed = new Set(orderRows.filter((row) => row.status === 'confirmed').map((row) => row.order_id));
  const expectedSold = new Map<string, number>();
  for (const order of orders.filter((candidate) => confirmed.has(candidate.orderId))) {
    for (const item of order.items) expectedSold.set(item.sku, (expectedSold.get(item.sku) ?? 0) + item.quantity);
  }
  for (const sku of new Set([...perSku.keys(), ...expectedSold.keys()])) expect({ sku, sold: perSku.get(sku)?.sold ?? 0 }).toEqual({ sku, sold: expectedSold.get(sku) ?? 0 });
  return confirmed;
}
