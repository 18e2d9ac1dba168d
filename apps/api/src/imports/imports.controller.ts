import type { Readable } from 'node:stream';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Allow, Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { Imports } from './imports.service';

/** CSV product imports over REST (API.md), for admins. */
@Controller('imports')
@ApiTags('imports')
@ApiBearerAuth()
export class ImportsController {
  constructor(
    @Inject(Imports) private readonly imports: Imports,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Post('products')
  @Allow('admin')
  @HttpCode(202)
  @ApiConsumes('text/csv')
  @ApiBody({ schema: { type: 'string', example: 'sku,name,priceCents,quantity\nmug-1,Mug,1200,25\n' } })
  @ApiHeader({ name: 'X-Channel-Id', required: false, description: 'progress is also pushed on the WebSocket channel import:<X-Channel-Id>' })
  async importProducts(
    @Body() body: unknown,
    @Headers('content-length') contentLength: string | undefined,
    @Headers('x-channel-id') channelId: string | undefined,
    @Caller() caller: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    try {
      const started = await this.imports.start({ body, contentLength, channelId }, this.commands.metadata(request, caller));
      return withPosition(reply, started.position, { jobId: started.jobId, channelId: started.channelId });
    } catch (error) {
      discardUpload(body);
      throw error;
    }
  }

  @Get(':jobId')
  @Allow('admin')
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the read model shows this position' })
  job(@Param('jobId') jobId: string, @Query() query: unknown) {
    return this.imports.job(jobId, query);
  }
}

/** A refused upload may still be arriving: the rest is read and dropped, so that the client, still sending, gets to read the refusal. */
function discardUpload(body: unknown): void {
  if (typeof (body as Readable | undefined)?.resume === 'function') (body as Readable).resume();
}
