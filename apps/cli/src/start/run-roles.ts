import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoLogger } from '@tidings/platform';
import { apiOrigin, type Settings } from '@tidings/settings';
import { TidingsModule } from './tidings.module';

/**
 * Runs the roles of `settings` on this thread, as one Nest application sharing one platform
 * (one pool, one NATS connection, one command handler); resolves once they run. Closing the
 * application stops them gracefully: batches finish, leases and the relay lock are given back.
 */
export async function runRoles(settings: Settings): Promise<INestApplicationContext> {
  const logger = new PinoLogger(`tidings-${settings.roles.join('-')}`);
  const module = await TidingsModule.forRoles(settings);
  // abortOnError: false — a role that cannot start (NATS refused, say) rejects with why, for the caller to say, rather than exit the process (or only its thread) with code 1.
  if (!settings.roles.includes('api')) return NestFactory.createApplicationContext(module, { logger, abortOnError: false });
  const { apiAdapter, configureApi } = await import('@tidings/apps-api');
  // Fastify's own JSON parser reads bodies; Nest's would add a form (urlencoded) parser besides.
  const app = await NestFactory.create<NestFastifyApplication>(module, apiAdapter(settings), { logger, bodyParser: false, abortOnError: false });
  await configureApi(app, settings);
  await app.listen(settings.port, settings.host);
  // The port bound, which PORT=0 leaves to the system.
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(`api listening on ${apiOrigin(settings.host, port)}`, 'tidings');
  return app;
}
