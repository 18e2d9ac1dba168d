import type { Message, RecordedEvent } from '@tidings/core';
import { quoteIdentifier, writingProjection, type Projection, type Statement } from '@tidings/read-models';
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

/**
 * What a batch's events set on an order's row, when the order was placed in an earlier batch:
 * the row is not read, so only what the events say is known. `status` and `cancellationReason`
 * are left as the row has them when no event sets them.
 */
export type OrderRowUpdate = Readonly<{
  orderId: string;
  status?: 'confirmed' | 'cancelled';
  cancellationReason?: string;
  version: number;
  updatedAt: Date;
  position: bigint;
}>;

/**
 * How one order event changes what a batch writes of its order: the whole row from the
 * `OrderPlaced` on, else an update of the row an earlier batch wrote.
 */
export function evolveOrderRow(row: OrderRow | OrderRowUpdate | undefined, event: RecordedEvent<OrderEvent>): OrderRow | OrderRowUpdate | undefined {
  if (row && event.streamVersion <= row.version) return row;
  const applied = { version: event.streamVersion, updatedAt: event.recordedAt, position: event.position };
  if (event.type === 'OrderPlaced') {
    const { orderId, customerId, items, subtotalCents, taxCents, totalCents, currency } = event.data;
    return { orderId, customerId, status: 'placed', items, subtotalCents, taxCents, totalCents, currency, placedAt: event.recordedAt, ...applied };
  }
  const before = row ?? { orderId: event.data.orderId };
  switch (event.type) {
    case 'OrderCancellationRequested':
      return { ...before, ...applied };
    case 'OrderConfirmed':
      return { ...before, status: 'confirmed', ...applied };
    case 'OrderCancelled':
      return { ...before, status: 'cancelled', cancellationReason: event.data.reason, ...applied };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

const isPlaced = (row: OrderRow | OrderRowUpdate): row is OrderRow => 'placedAt' in row;

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

/**
 * The orders read model, with each order's payment status. Payments are kept in a view of
 * their own, joined by the queries: an order's payment stream may sit on another partition
 * than its order stream, so a payment event can be applied before the order's row exists.
 * A batch reads nothing (writingProjection): its events are folded in memory per order, and
 * written with an upsert of the orders it placed, an update of those placed before (guarded by
 * the order's version, so an event applied again changes nothing) and an upsert of payments
 * (guarded by position).
 */
export const ordersProjection: Projection = writingProjection({
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

  write(events, tables) {
    const orders = folded(events.filter(isOrderEvent), evolveOrderRow);
    const payments = folded(events.filter(isPaymentEvent), evolveOrderPaymentRow);
    return [
      ...ordersPlaced(tables.orders, orders.filter(isPlaced)),
      ...ordersUpdated(tables.orders, orders.filter((row): row is OrderRowUpdate => !isPlaced(row))),
      ...paymentsWritten(tables.order_payments, payments),
    ];
  },
});

/** Folds a batch's events into what they write of each order they touch. */
function folded<Row extends { orderId: string }, E extends RecordedEvent<Message<string, { orderId: string }>>>(events: readonly E[], evolve: (row: Row | undefined, event: E) => Row | undefined): Row[] {
  const rows = new Map<string, Row>();
  for (const event of events) {
    const after = evolve(rows.get(event.data.orderId), event);
    if (after) rows.set(after.orderId, after);
  }
  return [...rows.values()];
}

function ordersPlaced(table: string, orders: readonly OrderRow[]): Statement[] {
  if (orders.length === 0) return [];
  return [
    {
      name: `tidings_place_${table}`,
      text: `INSERT INTO ${quoteIdentifier(table)} AS o
         (order_id, customer_id, status, items, subtotal_cents, tax_cents, total_cents, currency, cancellation_reason, version, placed_at, updated_at, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::int[],
         $11::timestamptz[], $12::timestamptz[], $13::bigint[])
       ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, cancellation_reason = excluded.cancellation_reason,
         version = excluded.version, updated_at = excluded.updated_at, position = excluded.position
       WHERE o.version < excluded.version`,
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
    },
  ];
}

function ordersUpdated(table: string, updates: readonly OrderRowUpdate[]): Statement[] {
  if (updates.length === 0) return [];
  return [
    {
      name: `tidings_update_${table}`,
      text: `UPDATE ${quoteIdentifier(table)} AS o SET status = coalesce(u.status, o.status), cancellation_reason = coalesce(u.cancellation_reason, o.cancellation_reason),
         version = u.version, updated_at = u.updated_at, position = u.position
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::bigint[]) AS u (order_id, status, cancellation_reason, version, updated_at, position)
       WHERE o.order_id = u.order_id AND o.version < u.version`,
      values: [
        updates.map((update) => update.orderId),
        updates.map((update) => update.status ?? null),
        updates.map((update) => update.cancellationReason ?? null),
        updates.map((update) => update.version),
        updates.map((update) => update.updatedAt.toISOString()),
        updates.map((update) => update.position.toString()),
      ],
    },
  ];
}

function paymentsWritten(table: string, payments: readonly OrderPaymentRow[]): Statement[] {
  if (payments.length === 0) return [];
  return [
    {
      name: `tidings_write_${table}`,
      text: `INSERT INTO ${quoteIdentifier(table)} AS p (order_id, status, updated_at, position)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
       ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, position = excluded.position
       WHERE p.position < excluded.position`,
      values: [
        payments.map((row) => row.orderId),
        payments.map((row) => row.status),
        payments.map((row) => row.updatedAt.toISOString()),
        payments.map((row) => row.position.toString()),
      ],
    },
  ];
}
