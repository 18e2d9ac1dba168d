import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Allow, CallerIfAny } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { BodyOf } from '../http/openapi';
import { recordViewBody, recordViewsBody, Views } from './views.service';

/** Views over REST (API.md): anyone may record a view (rate-limited per IP); counts need a signed-in caller. */
@Controller()
@ApiTags('views')
export class ViewsController {
  constructor(
    @Inject(Views) private readonly views: Views,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Post('videos/:id/views')
  @Allow('public')
  @HttpCode(202)
  @BodyOf(recordViewBody)
  async recordOne(@Param('id') videoId: string, @Body() body: unknown, @CallerIfAny() caller: Principal | undefined, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const recorded = await this.views.recordOne(videoId, body, caller, this.commands.metadata(request, caller));
    return withPosition(reply, recorded.position, { accepted: recorded.accepted });
  }

  @Post('views')
  @Allow('public')
  @HttpCode(202)
  @BodyOf(recordViewsBody)
  async recordMany(@Body() body: unknown, @CallerIfAny() caller: Principal | undefined, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const recorded = await this.views.recordMany(body, caller, this.commands.metadata(request, caller));
    return withPosition(reply, recorded.position, { accepted: recorded.accepted });
  }

  @Get('videos/trending')
  @ApiQuery({ name: 'window', required: false, enum: ['1h', '24h', '7d'] })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  trending(@Query() query: unknown) {
    return this.views.trending(query);
  }

  @Get('videos/:id/views')
  @ApiQuery({ name: 'from', required: false, description: 'ISO 8601; default: a day before `to`' })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601; default: now' })
  @ApiQuery({ name: 'granularity', required: false, enum: ['minute', 'hour', 'day'] })
  @ApiQuery({ name: 'minPosition', required: false })
  videoViews(@Param('id') videoId: string, @Query() query: unknown) {
    return this.views.videoViews(videoId, query);
  }
}
