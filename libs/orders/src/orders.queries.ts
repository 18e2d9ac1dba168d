import type { Pool } from 'pg';
import type { OrderItem } from './orders';
import type { OrderRecord, PaymentStatus } from './orders.projection';

/** An order as `GET /orders/:id` answers it (API.md). */
export type OrderView = Readonly<{
  orderId: string;
  customerId: string;
  status: OrderRecord['status'];
  items: OrderItem[];
  subtotalCents: number;
  taxCents: number;
  totalCents: number;
  currency: string;
  cancellationReason?: string;
  payment: Readonly<{ status: PaymentStatus }>;
  /** Version of the order stream: the `If-Match` a command on this order may send. */
  version: number;
  /** ISO 8601: when the order or its payment last changed. */
  updatedAt: string;
}>;

export type OrderFilter = Readonly<{ customerId?: string; status?: string; limit: number; after?: string }>;

type OrderViewRecord = Omit<OrderRecord, 'placed_at' | 'position'> & { payment_status: PaymentStatus };

// An order without a payment row has had no payment event yet.
const SELECT_ORDERS = `
  SELECT o.order_id, o.customer_id, o.status, o.items, o.subtotal_cents, o.tax_cents, o.total_cents, o.currency, o.cancellation_reason, o.version,
    coalesce(p.status, 'none') AS payment_status, greatest(o.updated_at, p.updated_at) AS updated_at
  FROM orders o LEFT JOIN order_payments p USING (order_id)`;

export async function findOrder(pool: Pool, orderId: string): Promise<OrderView | undefined> {
  const { rows } = await pool.query<OrderViewRecord>({ name: 'tidings_find_order', text: `${SELECT_ORDERS} WHERE o.order_id = $1`, values: [orderId] });
  return rows[0] && toView(rows[0]);
}

/** One page in order id order, after the id `after` (keyset pagination: stable under inserts). */
export async function listOrders(pool: Pool, { customerId, status, limit, after }: OrderFilter): Promise<{ items: OrderView[]; last?: string }> {
  const { rows } = await pool.query<OrderViewRecord>({
    name: 'tidings_list_orders',
    text: `${SELECT_ORDERS}
      WHERE ($1::text IS NULL OR o.customer_id = $1) AND ($2::text IS NULL OR o.status = $2) AND ($3::text IS NULL OR o.order_id > $3)
      ORDER BY o.order_id LIMIT $4`,
    values: [customerId ?? null, status ?? null, after ?? null, limit + 1],
  });
  const items = rows.slice(0, limit).map(toView);
  return rows.length > limit ? { items, last: items[items.length - 1].orderId } : { items };
}

const toView = (record: OrderViewRecord): OrderView => ({
  orderId: record.order_id,
  customerId: record.customer_id,
  status: record.status,
  items: record.items.map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
  subtotalCents: Number(record.subtotal_cents),
  taxCents: Number(record.tax_cents),
  totalCents: Number(record.total_cents),
  currency: record.currency,
  ...(record.cancellation_reason === null ? {} : { cancellationReason: record.cancellation_reason }),
  payment: { status: record.payment_status },
  version: record.version,
  updatedAt: record.updated_at.toISOString(),
});
