import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { CommandMetadata } from '@tidings/core';
import {
  available,
  findProduct,
  listProducts,
  productsProjection,
  productStreamId,
  receiveStock,
  registerProduct,
  requireRegistered,
  type ProductView,
} from '@tidings/inventory';
import { Commands } from '../http/command-context';
import { parseInput, storableText } from '../http/parse-input';
import { listPages } from '../http/pages';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';

export const SKU = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a sku is 1-64 characters of [A-Za-z0-9_-]');

export const registerProductBody = z.strictObject({
  sku: SKU,
  name: storableText(200),
  priceCents: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .default('USD'),
});

export const receiveStockBody = z.strictObject({ quantity: z.number().int().min(1).max(1_000_000) });
const productPages = listPages('products');

/** Catalog and stock use cases, shared by REST and GraphQL: validated input in, API answers out. */
@Injectable()
export class Catalog {
  constructor(
    @Inject(Commands) private readonly commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
  ) {}

  async register(input: unknown, metadata: CommandMetadata) {
    const data = parseInput(registerProductBody, input, 'body');
    const result = await this.commands.run(registerProduct, productStreamId(data.sku), { type: 'RegisterProduct', data, metadata });
    return { sku: data.sku, version: result.version, position: result.position };
  }

  async receive(sku: string, input: unknown, expectedVersion: number | undefined, metadata: CommandMetadata) {
    const { quantity } = parseInput(receiveStockBody, input, 'body');
    const result = await this.commands.run(
      receiveStock,
      productStreamId(parseInput(SKU, sku, 'params')),
      { type: 'ReceiveStock', data: { sku, quantity }, metadata },
      { expectedVersion },
    );
    const product = requireRegistered(result.state, sku);
    return { sku, onHand: product.onHand, available: available(product), version: result.version, position: result.position };
  }

  async product(sku: string, minPosition: unknown): Promise<ProductView> {
    parseInput(SKU, sku, 'params');
    await this.readModels.awaitPosition(productsProjection, minPosition);
    const product = await findProduct(this.readModels.pool, sku);
    if (!product) throw problems.notFound(`product ${sku} is not registered`);
    return product;
  }

  async products(query: unknown) {
    const { limit, cursor, minPosition } = parseInput(productPages.query, query, 'query');
    await this.readModels.awaitPosition(productsProjection, minPosition);
    const page = await listProducts(this.readModels.pool, { limit, ...(cursor !== undefined ? { after: cursor } : {}) });
    return productPages.of(page.items, page.last);
  }
}
