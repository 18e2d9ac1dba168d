import type { Message, RecordedEvent } from '@tidings/core';
import type { PoolClient } from 'pg';
import { pipelined, quoteIdentifier, type Projection } from '@tidings/read-models';
import type { OrderEvent, OrderItem } from './orders';

/** One row per order of the `orders` view. */
export type OrderRow = Readonly<{
  orderId: string;
  customerId: string;
  status: 'placed' | 'confirmed' | 'cancelled';
  items: readonly OrderItem[];
  subtotalCents: number;
  taxCents: number;
  totalCents: number;
  currency: string;
  cancellationReason?: string;
  /** Order stream version of the last event applied: older ones are ignored. */
  version: number;
  placedAt: Date;
  updatedAt: Date;
  position: bigint;
}>;

export type PaymentStatus = 'none' | 'authorized' | 'captured' | 'declined' | 'voided' | 'refunded';

/** One row per order with a payment of the `order_payments` view; no row reads as `none`. */
export type OrderPaymentRow = Readonly<{ orderId: string; status: Exclude<PaymentStatus, 'none'>; updatedAt: Date; position: bigint }>;

/** What each payment event says of the order's payment. A transient `PaymentAttemptFailed` says nothing. */
const PAYMENT_STATUS = {
  PaymentAuthorized: 'authorized',
  PaymentDeclined: 'declined',
  PaymentCaptured: 'captured',
  PaymentVoided: 'voided',
  PaymentRefunded: 'refunded',
} as const satisfies Record<string, OrderPaymentRow['status']>;

/** The part of the payments context's events this read model needs (it does not depend on that context). */
type PaymentEvent = Message<keyof typeof PAYMENT_STATUS, { orderId: string }>;

const ORDER_EVENTS = new Set<string>(['OrderPlaced', 'OrderCancellationRequested', 'OrderConfirmed', 'OrderCancelled'] satisfies OrderEvent['type'][]);

const isOrderEvent = (event: RecordedEvent): event is RecordedEvent<OrderEvent> => ORDER_EVENTS.has(event.type);
const isPaymentEvent = (event: RecordedEvent): event is RecordedEvent<PaymentEvent> => Object.hasOwn(PAYMENT_STATUS, event.type);

/** How one order event changes an order's row; the same row back when it changes nothing. */
export function evolveOrderRow(row: OrderRow | undefined, event: RecordedEvent<OrderEvent>): OrderRow | undefined {
  if (row && event.streamVersion <= row.version) return row;
  const applied = { version: event.streamVersion, updatedAt: event.recordedAt, position: event.position };
  if (event.type === 'OrderPlaced') {
    const { orderId, customerId, items, subtotalCents, taxCents, totalCents, currency } = event.data;
    return { orderId, customerId, status: 'placed', items, subtotalCents, taxCents, totalCents, currency, placedAt: event.recordedAt, ...applied };
  }
  if (!row) return row;
  switch (event.type) {
    case 'OrderCancellationRequested':
      return { ...row, ...applied };
    case 'OrderConfirmed':
      return { ...row, status: 'confirmed', ...applied };
    case 'OrderCancelled':
      return { ...row, status: 'cancelled', cancellationReason: event.data.reason, ...applied };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/**
 * How one payment event changes an order's payment row. The payment stream is not the order
 * stream, so the stream's position, not an order version, tells a redelivery from news.
 */
export function evolveOrderPaymentRow(row: OrderPaymentRow | undefined, event: RecordedEvent<PaymentEvent>): OrderPaymentRow | undefined {
  if (row && event.position <= row.position) return row;
  return { orderId: event.data.orderId, status: PAYMENT_STATUS[event.type], updatedAt: event.recordedAt, position: event.position };
}

/** A row of the `orders` tables as PostgreSQL returns it. */
export type OrderRecord = {
  order_id: string;
  customer_id: string;
  status: OrderRow['status'];
  items: OrderItem[];
  subtotal_cents: string;
  tax_cents: string;
  total_cents: string;
  currency: string;
  cancellation_reason: string | null;
  version: number;
  placed_at: Date;
  updated_at: Date;
  position: string;
};

export type OrderPaymentRecord = { order_id: string; status: OrderPaymentRow['status']; updated_at: Date; position: string };

/**
 * The orders read model, with each order's payment status. Payments are kept in a view of
 * their own, joined by the queries: an order's payment stream may sit on another partition
 * than its order stream, so a payment event can be applied before the order's row exists.
 * A batch costs two round trips: the touched rows of both views read at once, every event
 * folded in memory, the changed rows written back with one upsert per view.
 */
export const ordersProjection: Projection = {
  name: 'orders',
  categories: ['order', 'payment'],
  tables: {
    orders: (table) => `
      CREATE TABLE ${table} (
        order_id            text        PRIMARY KEY,
        customer_id         text        NOT NULL,
        status              text        NOT NULL,
        items               jsonb       NOT NULL,
        subtotal_cents      bigint      NOT NULL,
        tax_cents           bigint      NOT NULL,
        total_cents         bigint      NOT NULL,
        currency            text        NOT NULL,
        cancellation_reason text,
        version             int         NOT NULL,
        placed_at           timestamptz NOT NULL,
        updated_at          timestamptz NOT NULL,
        position            bigint      NOT NULL
      );
      CREATE INDEX ON ${table} (customer_id, order_id);
      CREATE INDEX ON ${table} (status, order_id)`,
    order_payments: (table) => `
      CREATE TABLE ${table} (
        order_id   text        PRIMARY KEY,
        status     text        NOT NULL,
        updated_at timestamptz NOT NULL,
        position   bigint      NOT NULL
      )`,
  },

  async apply(db, events, tables) {
    // Both views' rows are read in one round trip and written in another (the pool pipelines).
    const [orders, payments] = await pipelined(
      changedRows(events.filter(isOrderEvent), evolveOrderRow, async (orderIds) => {
        // Planned on every batch, never prepared: a plan cached while the table was small (a sequential
        // scan) would be kept as it grows, with no ANALYZE to replace it when autovacuum is off.
        const { rows } = await db.query<OrderRecord>(`SELECT * FROM ${quoteIdentifier(tables.orders)} WHERE order_id = ANY($1)`, [orderIds]);
        return rows.map(orderRowOf);
      }),
      changedRows(events.filter(isPaymentEvent), evolveOrderPaymentRow, async (orderIds) => {
        const { rows } = await db.query<OrderPaymentRecord>(`SELECT * FROM ${quoteIdentifier(tables.order_payments)} WHERE order_id = ANY($1)`, [orderIds]);
        return rows.map(orderPaymentRowOf);
      }),
    );
    await pipelined(writeOrders(db, tables.orders, orders), writeOrderPayments(db, tables.order_payments, payments));
  },
};

async function writeOrders(db: PoolClient, table: string, orders: readonly OrderRow[]): Promise<void> {
  if (orders.length === 0) return;
  await db.query({
    name: `tidings_write_${table}`,
    text: `INSERT INTO ${quoteIdentifier(table)}
       (order_id, customer_id, status, items, subtotal_cents, tax_cents, total_cents, currency, cancellation_reason, version, placed_at, updated_at, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::int[],
       $11::timestamptz[], $12::timestamptz[], $13::bigint[])
     ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, cancellation_reason = excluded.cancellation_reason,
       version = excluded.version, updated_at = excluded.updated_at, position = excluded.position`,
    values: [
      orders.map((row) => row.orderId),
      orders.map((row) => row.customerId),
      orders.map((row) => row.status),
      orders.map((row) => JSON.stringify(row.items)),
      orders.map((row) => row.subtotalCents),
      orders.map((row) => row.taxCents),
      orders.map((row) => row.totalCents),
      orders.map((row) => row.currency),
      orders.map((row) => row.cancellationReason ?? null),
      orders.map((row) => row.version),
      orders.map((row) => row.placedAt.toISOString()),
      orders.map((row) => row.updatedAt.toISOString()),
      orders.map((row) => row.position.toString()),
    ],
  });
}

async function writeOrderPayments(db: PoolClient, table: string, payments: readonly OrderPaymentRow[]): Promise<void> {
  if (payments.length === 0) return;
  await db.query({
    name: `tidings_write_${table}`,
    text: `INSERT INTO ${quoteIdentifier(table)} (order_id, status, updated_at, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
     ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, position = excluded.position`,
    values: [
      payments.map((row) => row.orderId),
      payments.map((row) => row.status),
      payments.map((row) => row.updatedAt.toISOString()),
      payments.map((row) => row.position.toString()),
    ],
  });
}

/** Folds a batch's events into the rows they touch, read once; returns the rows that changed. */
async function changedRows<Row extends { orderId: string }, E extends RecordedEvent<Message<string, { orderId: string }>>>(
  events: readonly E[],
  evolve: (row: Row | undefined, event: E) => Row | undefined,
  read: (orderIds: string[]) => Promise<Row[]>,
): Promise<Row[]> {
  if (events.length === 0) return [];
  const current = new Map((await read([...new Set(events.map((event) => event.data.orderId))])).map((row) => [row.orderId, row]));
  const changed = new Map<string, Row>();
  for (const event of events) {
    const before = current.get(event.data.orderId);
    const after = evolve(before, event);
    if (after && after !== before) {
      current.set(after.orderId, after);
      changed.set(after.orderId, after);
    }
  }
  return [...changed.values()];
}

export const orderRowOf = (record: OrderRecord): OrderRow => ({
  orderId: record.order_id,
  customerId: record.customer_id,
  status: record.status,
  items: record.items,
  subtotalCents: Number(record.subtotal_cents),
  taxCents: Number(record.tax_cents),
  totalCents: Number(record.total_cents),
  currency: record.currency,
  ...(record.cancellation_reason === null ? {} : { cancellationReason: record.cancellation_reason }),
  version: record.version,
  placedAt: record.placed_at,
  updatedAt: record.updated_at,
  position: BigInt(record.position),
});

const orderPaymentRowOf = (record: OrderPaymentRecord): OrderPaymentRow => ({
  orderId: record.order_id,
  status: record.status,
  updatedAt: record.updated_at,
  position: BigInt(record.position),
});
