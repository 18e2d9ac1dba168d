import { Body, Controller, Get, HttpCode, Inject, Injectable, Logger, Param, Put, Query, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { KV, NatsConnection, QueuedIterator, KvEntry } from 'nats';
import { z } from 'zod';
import type { EventTopology } from '@tidings/messaging';
import { NATS, TOPOLOGY } from '@tidings/platform';
import { Allow } from '../auth/access';
import { BodyOf } from '../http/openapi';
import { parseInput } from '../http/parse-input';
import { minPositionOf, positionParam } from '../http/read-models';

const COUNTRY = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as DE');
export const taxRateBody = z.strictObject({ rate: z.number().min(0).max(1) });
const KEY_PREFIX = 'tax-rates.';
/** How long a change waits to be seen by this instance before its answer. */
const OWN_CHANGE_TIMEOUT_MS = 2_000;

/**
 * Tax rates per shipping country (ARCHITECTURE §6 config): a JetStream KV bucket
 * `<namespace>_config`, held in memory by every instance and kept current by a watch, so a
 * change reaches new orders everywhere within moments. A country without a rate pays none.
 */
@Injectable()
export class TaxRates implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('tax-rates');
  private readonly rates = new Map<string, number>();
  private readonly revisions = new Map<string, number>();
  private kv?: KV;
  private watch?: QueuedIterator<KvEntry>;

  constructor(
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
  ) {}

  async onModuleInit(): Promise<void> {
    this.kv = await this.nats.jetstream().views.kv(`${this.topology.namespace}_config`, { history: 5 });
    const watch = await this.kv.watch({ key: `${KEY_PREFIX}>` });
    this.watch = watch;
    void (async () => {
      for await (const entry of watch) this.apply(entry);
    })().catch((error: Error) => this.logger.error(`the tax-rate watch ended: ${error.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    this.watch?.stop();
  }

  rateFor(country: string): number {
    return this.rates.get(country) ?? 0;
  }

  all(): Record<string, number> {
    return Object.fromEntries([...this.rates].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Stores a country's rate; answers once this instance's copy shows it. */
  async set(country: string, rate: number): Promise<void> {
    if (!this.kv) throw new Error('the config bucket is not open yet');
    const revision = await this.kv.put(`${KEY_PREFIX}${country}`, JSON.stringify(rate));
    const deadline = Date.now() + OWN_CHANGE_TIMEOUT_MS;
    while ((this.revisions.get(country) ?? 0) < revision && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private apply(entry: KvEntry): void {
    const country = entry.key.slice(KEY_PREFIX.length);
    this.revisions.set(country, entry.revision);
    if (entry.operation !== 'PUT') return void this.rates.delete(country);
    const rate = Number(entry.string());
    if (Number.isFinite(rate) && rate >= 0 && rate <= 1) this.rates.set(country, rate);
    else this.logger.warn(`ignoring tax rate "${entry.string()}" for ${country}`);
  }
}

/** `GET /config/tax-rates`, `PUT /admin/config/tax-rates/:country` (API.md). */
@Controller()
@ApiTags('config')
@ApiBearerAuth()
export class TaxRatesController {
  constructor(@Inject(TaxRates) private readonly taxRates: TaxRates) {}

  @Get('config/tax-rates')
  @ApiQuery({ name: 'minPosition', required: false, description: 'checked, and met at once: tax rates are not events' })
  list(@Query() query: unknown) {
    positionParam(minPositionOf(query));
    return this.taxRates.all();
  }

  @Put('admin/config/tax-rates/:country')
  @Allow('admin')
  @HttpCode(200)
  @BodyOf(taxRateBody)
  async set(@Param('country') country: string, @Body() body: unknown) {
    const code = parseInput(COUNTRY, country, 'params');
    const { rate } = parseInput(taxRateBody, body, 'body');
    await this.taxRates.set(code, rate);
    return { country: code, rate };
  }
}
