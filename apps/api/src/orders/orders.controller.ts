import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { expectedVersionOf, withVersion } from '../http/if-match';
import { BodyOf } from '../http/openapi';
import { noBody, parseInput } from '../http/parse-input';
import { minPositionOf } from '../http/read-models';
import { Orders, placeOrderBody } from './orders.service';

/** Orders over REST (API.md): placing starts the checkout saga; the answer comes before its outcome. */
@Controller('orders')
@ApiTags('orders')
@ApiBearerAuth()
export class OrdersController {
  constructor(
    @Inject(Orders) private readonly orders: Orders,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Post()
  @HttpCode(202)
  @BodyOf(placeOrderBody)
  async place(@Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const placed = await this.orders.place(body, caller, this.commands.metadata(request, caller));
    withVersion(reply, placed);
    return withPosition(reply, placed.position, { orderId: placed.orderId, status: placed.status });
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the order version this cancellation expects' })
  async cancel(
    @Param('id') orderId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    parseInput(noBody, body, 'body');
    const cancelling = await this.orders.cancel(orderId, caller, this.commands.metadata(request, caller), expectedVersionOf(ifMatch));
    withVersion(reply, cancelling);
    return withPosition(reply, cancelling.position, { orderId, status: cancelling.status });
  }

  @Get(':id')
  @ApiQuery({ name: 'minPosition', required: false })
  async get(@Param('id') orderId: string, @Query() query: Record<string, unknown>, @Caller() caller: Principal, @Res({ passthrough: true }) reply: FastifyReply) {
    const order = await this.orders.order(orderId, caller, minPositionOf(query));
    return withVersion(reply, order);
  }

  @Get()
  @ApiQuery({ name: 'status', required: false, enum: ['placed', 'confirmed', 'cancelled'] })
  @ApiQuery({ name: 'customerId', required: false, description: 'admins only' })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  list(@Query() query: unknown, @Caller() caller: Principal) {
    return this.orders.orders(query, caller);
  }
}
