import { randomUUID } from 'node:crypto';
import { uuidV7Ids, type EventStore, type EventToAppend, type RecordedEvent } from '@tidings/core';
import { evolveProductRow, productStreamId, type InventoryEvent, type ProductRow } from '@tidings/inventory';

export type InventoryWorkload = Readonly<{
  /** Distinct products; each gets its own stream. */
  products: number;
  /** Events in all, registrations included. */
  events: number;
  /** Streams written at once. */
  concurrency?: number;
  skuPrefix?: string;
  /** Called after each append, e.g. to pace the writer or to kill processes along the way. */
  afterAppend?: (appended: number) => Promise<void> | void;
}>;

/**
 * Appends a valid inventory history: each product registered, then stock received, reserved,
 * released and committed in an order the deciders would accept. Returns the events appended.
 */
export async function appendInventoryWorkload(store: EventStore, workload: InventoryWorkload): Promise<number> {
  const { products, events, concurrency = 16, skuPrefix = 'sku' } = workload;
  const perProduct = Math.ceil(events / products);
  let appended = 0;
  const skus = Array.from({ length: products }, (_, index) => `${skuPrefix}-${index}`);
  const histories = skus.map((sku, index) => productHistory(sku, Math.min(perProduct, events - index * perProduct)));
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      // Round-robin over products, one event at a time, so streams interleave in $all.
      for (let turn = next++; turn < histories.length * perProduct; turn = next++) {
        const history = histories[turn % histories.length];
        const event = history.shift();
        if (!event) continue;
        await store.append(productStreamId(event.data.sku), [event], { expectedVersion: 'any' });
        appended++;
        await workload.afterAppend?.(appended);
      }
    }),
  );
  return appended;
}

function productHistory(sku: string, length: number): EventToAppend<InventoryEvent>[] {
  const history: InventoryEvent[] = [{ type: 'ProductRegistered', data: { sku, name: `Product ${sku}`, priceCents: 100 + length, currency: 'EUR' } }];
  let onHand = 0;
  const open: { reservationId: string; quantity: number }[] = [];
  let reserved = 0;
  while (history.length < length) {
    const roll = history.length % 4;
    if (roll === 1 || onHand - reserved < 1) {
      const quantity = 1 + (history.length % 7);
      history.push({ type: 'StockReceived', data: { sku, quantity } });
      onHand += quantity;
    } else if (roll === 2) {
      const reservation = { reservationId: `r-${sku}-${history.length}`, quantity: 1 };
      history.push({ type: 'StockReserved', data: { sku, ...reservation } });
      open.push(reservation);
      reserved += 1;
    } else if (open.length) {
      const reservation = open.shift() as { reservationId: string; quantity: number };
      const type = history.length % 3 === 0 ? 'StockCommitted' : 'StockReleased';
      history.push({ type, data: { sku, ...reservation } });
      reserved -= reservation.quantity;
      if (type === 'StockCommitted') onHand -= reservation.quantity;
    } else {
      history.push({ type: 'StockReceived', data: { sku, quantity: 1 } });
      onHand += 1;
    }
  }
  return history.map((event) => ({
    ...event,
    eventId: uuidV7Ids.next(),
    metadata: { correlationId: randomUUID(), causationId: randomUUID(), actor: 'workload', schemaVersion: 1 },
  }));
}

/** The products read model as it must be: a fold of every inventory event in the store. */
export async function foldProducts(store: EventStore): Promise<Map<string, ProductRow>> {
  const rows = new Map<string, ProductRow>();
  for (let position = 0n; ; ) {
    const page: RecordedEvent[] = await store.readAll({ fromPosition: position, limit: 5_000 });
    if (page.length === 0) return rows;
    for (const event of page) {
      if (!event.streamId.startsWith('product-')) continue;
      const inventoryEvent = event as RecordedEvent<InventoryEvent>;
      const row = evolveProductRow(rows.get(inventoryEvent.data.sku), inventoryEvent);
      if (row) rows.set(row.sku, row);
    }
    position = page[page.length - 1].position;
  }
}
