import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { BodyOf } from '../http/openapi';
import { commentBody, publishPostBody, Social } from './social.service';

/** A 204 carries its position only in `X-Position` (API.md). */
const noContent = (reply: FastifyReply, position: bigint | undefined): void => void withPosition(reply, position, {});

/** Follows, posts, likes, comments, shares and the caller's newsfeed over REST (API.md Social and newsfeed); all for signed-in users. */
@Controller()
@ApiTags('social')
@ApiBearerAuth()
export class SocialController {
  constructor(
    @Inject(Social) private readonly social: Social,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Post('users/:id/follow')
  @HttpCode(204)
  async follow(@Param('id') userId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, (await this.social.follow(userId, body, caller, this.commands.metadata(request, caller))).position);
  }

  @Delete('users/:id/follow')
  @HttpCode(204)
  async unfollow(@Param('id') userId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, (await this.social.unfollow(userId, body, caller, this.commands.metadata(request, caller))).position);
  }

  @Get('users/:id/followers')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  followers(@Param('id') userId: string, @Query() query: unknown) {
    return this.social.followers(userId, query);
  }

  @Get('users/:id/following')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  following(@Param('id') userId: string, @Query() query: unknown) {
    return this.social.following(userId, query);
  }

  @Get('users/:id/posts')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  userPosts(@Param('id') userId: string, @Query() query: unknown) {
    return this.social.userPosts(userId, query);
  }

  @Post('posts')
  @HttpCode(201)
  @BodyOf(publishPostBody)
  async publish(@Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const published = await this.social.publish(body, caller, this.commands.metadata(request, caller));
    void reply.header('location', `/posts/${published.postId}`);
    return withPosition(reply, published.position, { postId: published.postId });
  }

  @Get('posts/:id')
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the read model shows this position' })
  post(@Param('id') postId: string, @Query() query: unknown) {
    return this.social.postQuery(postId, query);
  }

  @Post('posts/:id/like')
  @HttpCode(204)
  async like(@Param('id') postId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, (await this.social.like(postId, body, caller, this.commands.metadata(request, caller))).position);
  }

  @Delete('posts/:id/like')
  @HttpCode(204)
  async unlike(@Param('id') postId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, (await this.social.unlike(postId, body, caller, this.commands.metadata(request, caller))).position);
  }

  @Post('posts/:id/comments')
  @HttpCode(201)
  @BodyOf(commentBody)
  async comment(@Param('id') postId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const commented = await this.social.comment(postId, body, caller, this.commands.metadata(request, caller));
    return withPosition(reply, commented.position, { commentId: commented.commentId });
  }

  @Get('posts/:id/comments')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  comments(@Param('id') postId: string, @Query() query: unknown) {
    return this.social.comments(postId, query);
  }

  @Post('posts/:id/share')
  @HttpCode(201)
  async share(@Param('id') postId: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const shared = await this.social.share(postId, body, caller, this.commands.metadata(request, caller));
    return withPosition(reply, shared.position, { postId: shared.postId });
  }

  @Get('feed')
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'minPosition', required: false })
  feed(@Query() query: unknown, @Caller() caller: Principal) {
    return this.social.feedOf(caller, query);
  }
}
