import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { expectedVersionOf, withVersion } from '../http/if-match';
import { BodyOf } from '../http/openapi';
import { commentBody, publishPostBody, Social } from './social.service';

/** A 204 carries its position only in `X-Position` (API.md). */
const noContent = (reply: FastifyReply, position: bigint | undefined): void => void withPosition(reply, position, {});

/** Commands on a post take `If-Match`, as products' and orders' do. */
const IfMatchPost = () => ApiHeader({ name: 'If-Match', required: false, description: 'the ETag of the post version this command expects' });

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
    withVersion(reply, published);
    return withPosition(reply, published.position, { postId: published.postId });
  }

  @Get('posts/:id')
  @ApiQuery({ name: 'minPosition', required: false, description: 'wait (up to 5 s) until the read model shows this position' })
  async post(@Param('id') postId: string, @Query() query: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return withVersion(reply, await this.social.postQuery(postId, query)).post;
  }

  @Post('posts/:id/like')
  @HttpCode(204)
  @IfMatchPost()
  async like(@Param('id') postId: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, withVersion(reply, await this.social.like(postId, body, caller, this.commands.metadata(request, caller), expectedVersionOf(ifMatch))).position);
  }

  @Delete('posts/:id/like')
  @HttpCode(204)
  @IfMatchPost()
  async unlike(@Param('id') postId: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    noContent(reply, withVersion(reply, await this.social.unlike(postId, body, caller, this.commands.metadata(request, caller), expectedVersionOf(ifMatch))).position);
  }

  @Post('posts/:id/comments')
  @HttpCode(201)
  @BodyOf(commentBody)
  @IfMatchPost()
  async comment(@Param('id') postId: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const commented = withVersion(reply, await this.social.comment(postId, body, caller, this.commands.metadata(request, caller), expectedVersionOf(ifMatch)));
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
  @IfMatchPost()
  async share(@Param('id') postId: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    const shared = withVersion(reply, await this.social.share(postId, body, caller, this.commands.metadata(request, caller), expectedVersionOf(ifMatch)));
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
