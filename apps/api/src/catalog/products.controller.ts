import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Allow, Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { expectedVersionOf, withVersion } from '../http/if-match';
import { BodyOf } from '../http/openapi';
import { minPositionOf } from '../http/read-models';
import { Catalog, receiveStockBody, registerProductBody } from './catalog.service';

/** Catalog and stock over REST (API.md). */
@Controller('products')
@ApiTags('catalog')
@ApiBearerAuth()
export class ProductsController {
  constructor(
    @Inject(Catalog) private readonly catalog: Catalog,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Post()
  @Allow('admin')
  @HttpCode(201)
  @BodyOf(registerProductBody)
  async register(@Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const registered = await this.catalog.register(body, this.commands.metadata(request, caller));
    withVersion(reply, registered);
    return withPosition(reply, registered.position, { sku: registered.sku });
  }

  @Post(':sku/stock')
  @Allow('admin')
  @HttpCode(200)
  @BodyOf(receiveStockBody)
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the product version this change expects' })
  async receive(
    @Param('sku') sku: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const receipt = await this.catalog.receive(sku, body, expectedVersionOf(ifMatch), this.commands.metadata(request, caller));
    withVersion(reply, receipt);
    return withPosition(reply, receipt.position, { sku, onHand: receipt.onHand, available: receipt.available });
  }

  @Get(':sku')
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the read model shows this position' })
  async get(@Param('sku') sku: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) reply: FastifyReply) {
    const product = await this.catalog.product(sku, minPositionOf(query));
    return withVersion(reply, product);
  }

  @Get()
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  list(@Query() query: unknown) {
    return this.catalog.products(query);
  }
}
