import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { NatsConnection } from 'nats';
import type { Pool } from 'pg';
import type { EventStore } from '@tidings/core';
import { DATABASE, EVENT_STORE, NATS } from '@tidings/platform';
import { Allow } from '../auth/access';
import { problems } from '../http/problem';

const CHECK_TIMEOUT_MS = 2_000;

const within = (work: Promise<unknown>): Promise<unknown> =>
  Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref())]);

/** Liveness (the process answers) and readiness (its dependencies answer). */
@Controller('health')
@ApiTags('operations')
@Allow('public')
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly pool: Pool,
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get()
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const checks: Record<string, () => Promise<unknown>> = {
      postgresql: () => this.pool.query('SELECT 1'),
      nats: () => this.nats.flush(),
      eventStore: () => this.store.headPosition(),
    };
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await within(check());
          return [name, 'up'] as const;
        } catch (error) {
          return [name, `down: ${(error as Error).message}`] as const;
        }
      }),
    );
    const down = results.filter(([, state]) => state !== 'up');
    if (down.length) throw problems.unavailable(down.map(([name, state]) => `${name} ${state}`).join('; '));
    return { status: 'ready', checks: Object.fromEntries(results) };
  }
}
