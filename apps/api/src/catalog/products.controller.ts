import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  available,
  findProduct,
  listProducts,
  productsProjection,
  productStreamId,
  receiveStock,
  registerProduct,
  requireRegistered,
} from '@tidings/inventory';
import { Allow, Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { parseInput } from '../http/parse-input';
import { problems } from '../http/problem';
import { ReadModels } from '../http/read-models';
import { expectedVersionOf } from '../http/if-match';
import { BodyOf } from '../http/openapi';
import { pageQuery, pageOf } from '../http/pages';

const SKU = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a sku is 1-64 characters of [A-Za-z0-9_-]');

export const registerProductBody = z.strictObject({
  sku: SKU,
  name: z.string().trim().min(1).max(200),
  priceCents: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD')
    .default('USD'),
});

export const receiveStockBody = z.strictObject({ quantity: z.number().int().min(1).max(1_000_000) });

const skuParams = z.strictObject({ sku: SKU });
const productQuery = z.strictObject({ minPosition: z.string().optional() });

/** Catalog and stock (API.md): commands through the inventory deciders, queries from the `products` read model. */
@Controller('products')
@ApiTags('catalog')
@ApiBearerAuth()
export class ProductsController {
  constructor(
    @Inject(Commands) private readonly commands: Commands,
    @Inject(ReadModels) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @Allow('admin')
  @HttpCode(201)
  @BodyOf(registerProductBody)
  async register(@Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const data = parseInput(registerProductBody, body, 'body');
    const result = await this.commands.run(registerProduct, productStreamId(data.sku), {
      type: 'RegisterProduct',
      data,
      metadata: this.commands.metadata(request, caller),
    });
    void reply.header('etag', `"${result.version}"`);
    return withPosition(reply, result.position, { sku: data.sku });
  }

  @Post(':sku/stock')
  @Allow('admin')
  @HttpCode(200)
  @BodyOf(receiveStockBody)
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the product version this change expects' })
  async receive(
    @Param() params: unknown,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { sku } = parseInput(skuParams, params, 'params');
    const { quantity } = parseInput(receiveStockBody, body, 'body');
    const result = await this.commands.run(
      receiveStock,
      productStreamId(sku),
      { type: 'ReceiveStock', data: { sku, quantity }, metadata: this.commands.metadata(request, caller) },
      { expectedVersion: expectedVersionOf(ifMatch) },
    );
    const product = requireRegistered(result.state, sku);
    void reply.header('etag', `"${result.version}"`);
    return withPosition(reply, result.position, { sku, onHand: product.onHand, available: available(product) });
  }

  @Get(':sku')
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the read model shows this position' })
  async get(@Param() params: unknown, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { sku } = parseInput(skuParams, params, 'params');
    const { minPosition } = parseInput(productQuery, query, 'query');
    await this.readModels.awaitPosition(productsProjection, minPosition);
    const product = await findProduct(this.readModels.pool, sku);
    if (!product) throw problems.notFound(`product ${sku} is not registered`);
    void reply.header('etag', `"${product.version}"`);
    return product;
  }

  @Get()
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  async list(@Query() query: unknown) {
    const { limit, cursor, minPosition } = parseInput(pageQuery, query, 'query');
    await this.readModels.awaitPosition(productsProjection, minPosition);
    const page = await listProducts(this.readModels.pool, { limit, ...(cursor !== undefined ? { after: cursor } : {}) });
    return pageOf(page.items, page.last);
  }
}
