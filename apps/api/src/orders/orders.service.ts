import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { BusinessRuleViolation, type CommandMetadata, type EventStore, type RecordedEvent } from '@tidings/core';
import { evolveProduct, initialProduct, ProductLookups, productStreamId, type InventoryEvent } from '@tidings/inventory';
import {
  evolveOrder,
  findOrder,
  initialOrder,
  listOrders,
  MAX_ITEM_QUANTITY,
  MAX_ORDER_ITEMS,
  orderStreamId,
  ordersProjection,
  placeOrder,
  requestOrderCancellation,
  type OrderEvent,
  type OrderItem,
  type OrderView,
} from '@tidings/orders';
import { EVENT_STORE } from '@tidings/platform';
import type { Principal } from '../auth/tokens';
import { SKU } from '../catalog/catalog.service';
import { COUNTRY, TaxRates } from '../config/tax-rates';
import { Commands } from '../http/command-context';
import { listPages } from '../http/pages';
import { parseInput, uuidId } from '../http/parse-input';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';

export const placeOrderBody = z.strictObject({
  items: z
    .array(z.strictObject({ sku: SKU, quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY) }))
    .min(1)
    .max(MAX_ORDER_ITEMS),
  paymentToken: z.string().regex(/^[A-Za-z0-9_]{1,100}$/, 'a payment token such as tok_visa'),
  shippingCountry: COUNTRY,
});

const ORDER_ID = uuidId('an order id is a UUID');
const orderPages = listPages('orders');
const ordersQuery = orderPages.query.extend({ status: z.enum(['placed', 'confirmed', 'cancelled']).optional(), customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional() });

/** Orders use cases, shared by REST and GraphQL: a customer places and cancels their own orders; admins see all. */
@Injectable()
export class Orders {
  /** The catalog's prices, looked up for concurrent orders together. */
  private readonly catalog: ProductLookups;

  constructor(
    @Inject(Commands) private readonly commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
    @Inject(TaxRates) private readonly taxRates: TaxRates,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {
    this.catalog = new ProductLookups(readModels.pool);
  }

  /**
   * Prices come from the catalog (the read model, or the product's stream when the read model
   * has not seen it yet), the tax rate from
   * the config bucket. Under an Idempotency-Key the order id is the key's command id, so a
   * retry names the same order. The checkout saga starts from the OrderPlaced event.
   */
  async place(input: unknown, caller: Principal, metadata: CommandMetadata) {
    const { items, paymentToken, shippingCountry } = parseInput(placeOrderBody, input, 'body');
    const priced = await this.priced(items);
    const orderId = metadata.commandId;
    const currency = priced[0].currency;
    if (priced.some((item) => item.currency !== currency)) throw new BusinessRuleViolation('mixed-currencies', 'all items of an order must be priced in one currency');
    const result = await this.commands.run(
      placeOrder,
      orderStreamId(orderId),
      {
        type: 'PlaceOrder',
        data: { orderId, customerId: caller.userId, items: priced.map(({ currency: _currency, ...item }) => item), currency, taxRate: this.taxRates.rateFor(shippingCountry), shippingCountry, paymentToken },
        metadata,
      },
      // The order id is new, unless this is a retry under the same Idempotency-Key.
      { likelyNew: true },
    );
    return { orderId, status: 'placed' as const, version: result.version, position: result.position };
  }

  /**
   * The owner asks to cancel; the saga compensates. 409 once confirmed, or when the order is no
   * longer at `expectedVersion` (If-Match); another user's order is 404.
   */
  async cancel(id: string, caller: Principal, metadata: CommandMetadata, expectedVersion?: number) {
    const orderId = parseInput(ORDER_ID, id, 'params');
    await this.ownOrder(orderId, caller);
    const result = await this.commands.run(
      requestOrderCancellation,
      orderStreamId(orderId),
      { type: 'RequestOrderCancellation', data: { orderId, requestedBy: caller.userId }, metadata },
      { expectedVersion },
    );
    const status = result.state.status === 'none' ? 'placed' : result.state.status;
    return { orderId, status, version: result.version, position: result.position };
  }

  async order(id: string, caller: Principal, minPosition: unknown): Promise<OrderView> {
    const orderId = parseInput(ORDER_ID, id, 'params');
    await this.readModels.awaitPosition(ordersProjection, minPosition);
    const order = await findOrder(this.readModels.pool, orderId);
    if (!order || !mayRead(caller, order.customerId)) throw problems.notFound(`no order ${orderId}`);
    return order;
  }

  async orders(query: unknown, caller: Principal) {
    const { limit, cursor, minPosition, status, customerId } = parseInput(ordersQuery, query, 'query');
    if (customerId !== undefined && !caller.roles.includes('admin') && customerId !== caller.userId) throw problems.forbidden('only admins list other customers’ orders');
    await this.readModels.awaitPosition(ordersProjection, minPosition);
    const isAdmin = caller.roles.includes('admin');
    const owner = isAdmin ? customerId : caller.userId;
    const page = await listOrders(this.readModels.pool, { limit, ...(owner ? { customerId: owner } : {}), ...(status ? { status } : {}), ...(cursor !== undefined ? { after: cursor } : {}) });
    return orderPages.of(page.items, page.last);
  }

  private async priced(items: readonly { sku: string; quantity: number }[]): Promise<(OrderItem & { currency: string })[]> {
    const skus = items.map((item) => item.sku);
    if (new Set(skus).size !== skus.length) throw problems.invalid('each sku appears once in an order', [{ path: 'body.items', message: 'duplicate sku' }]);
    const catalog = await this.catalog.find(skus);
    return Promise.all(
      items.map(async ({ sku, quantity }) => {
        // A product registered a moment ago may be on its stream only.
        const listed = catalog.get(sku);
        if (listed) return { sku, quantity, unitPriceCents: listed.priceCents, currency: listed.currency };
        const product = ((await this.store.readStream(productStreamId(sku))) as RecordedEvent<InventoryEvent>[]).reduce(evolveProduct, initialProduct());
        if (product.status !== 'registered') throw new BusinessRuleViolation('unknown-sku', `product ${sku} is not in the catalog`);
        return { sku, quantity, unitPriceCents: product.priceCents, currency: product.currency };
      }),
    );
  }

  /** The customer who placed the order, from its stream (undefined if it was never placed). */
  async ownerOf(id: string): Promise<string | undefined> {
    const parsed = ORDER_ID.safeParse(id);
    if (!parsed.success) return undefined;
    const orderId = parsed.data;
    const order = ((await this.store.readStream(orderStreamId(orderId))) as RecordedEvent<OrderEvent>[]).reduce(evolveOrder, initialOrder());
    return order.status === 'none' ? undefined : order.customerId;
  }

  private async ownOrder(orderId: string, caller: Principal): Promise<void> {
    const owner = await this.ownerOf(orderId);
    if (owner === undefined || !mayRead(caller, owner)) throw problems.notFound(`no order ${orderId}`);
  }
}

const mayRead = (caller: Principal, customerId: string) => caller.userId === customerId || caller.roles.includes('admin');
