import { setTimeout as delay } from 'node:timers/promises';
import { Body, Controller, Get, HttpCode, Inject, Injectable, Logger, Param, Put, Query, Req, Res, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JetStreamManager, KV, KvEntry, NatsConnection, StreamInfo } from 'nats';
import { z } from 'zod';
import { configBucketOf, COUNTRY_CODE, recordedTaxRates, setTaxRate, TAX_RATES_STREAM, type RecordedTaxRate, type TaxRateEvent } from '@tidings/config';
import type { CommandMetadata, EventStore, RecordedEvent } from '@tidings/core';
import { isJetStreamError, STREAM_NOT_FOUND, type EventTopology } from '@tidings/messaging';
import { EVENT_STORE, NATS, TOPOLOGY } from '@tidings/platform';
import { Allow, Caller } from '../auth/access';
import type { Principal } from '../auth/tokens';
import { Commands, withPosition } from '../http/command-context';
import { BodyOf } from '../http/openapi';
import { parseInput } from '../http/parse-input';
import { problems } from '../http/problem';
import { minPositionOf, positionParam } from '../http/read-models';

/** A shipping country: ISO 3166-1 alpha-2, as the config context records its rates. */
export const COUNTRY = z.string().regex(COUNTRY_CODE, 'an ISO 3166-1 alpha-2 code such as DE');
export const taxRateBody = z.strictObject({ rate: z.number().min(0).max(1) });
const KEY_PREFIX = 'tax-rates.';
/** How long a change waits to be seen by this instance before its answer. */
const OWN_CHANGE_TIMEOUT_MS = 2_000;
/** How long the watch waits before opening the bucket again once it failed or ended; doubled while opening fails. */
const REOPEN_DELAY_MS = 1_000;
const MAX_REOPEN_DELAY_MS = 30_000;
/** Reads and conditional writes of one key before a put gives up to a writer that keeps changing it. */
const PUT_ATTEMPTS = 5;
/** How often the watch checks that the bucket's stream is still the one it watches. */
const BUCKET_CHECK_MS = 2_000;

/**
 * Tax rates per shipping country (ARCHITECTURE §6 config). Each change is recorded on the
 * event store's `config-tax-rates` stream, then put in a JetStream KV bucket `<namespace>_config`
 * that every instance holds in memory and keeps current by a watch, so a change reaches new
 * orders everywhere within moments. The record outlives the bucket: when the watch fails (the
 * bucket, or the NATS store directory, was lost), the instance opens the bucket again — creating
 * it if need be — puts back every recorded rate the bucket lacks or holds from an older record,
 * and watches it again. A country without a rate pays none.
 */
@Injectable()
export class TaxRates implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('tax-rates');
  private readonly rates = new Map<string, number>();
  /** Per country, the position of the record this instance's copy shows. */
  private readonly shown = new Map<string, bigint>();
  private kv?: KV;
  private stopWatching?: () => void;
  private stopped = false;
  private keeping?: Promise<void>;

  constructor(
    @Inject(NATS) private readonly nats: NatsConnection,
    @Inject(TOPOLOGY) private readonly topology: EventTopology,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  /** The API answers once the copy holds every rate: no order is priced without its country's. */
  async onModuleInit(): Promise<void> {
    this.keeping = this.keepWatching(await this.open());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.stopWatching?.();
    await this.keeping;
  }

  rateFor(country: string): number {
    return this.rates.get(country) ?? 0;
  }

  all(): Record<string, number> {
    return Object.fromEntries([...this.rates].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Records a country's rate and puts it in the bucket; answers the record's position once this instance's copy shows it. */
  async set(country: string, rate: number, metadata: CommandMetadata): Promise<bigint> {
    const { position } = await this.commands.run(setTaxRate, TAX_RATES_STREAM, { type: 'SetTaxRate', data: { country, rate }, metadata });
    const recorded = { rate, position: position ?? 0n };
    try {
      if (!this.kv) throw new Error('the config bucket is not open');
      await putRecorded(this.kv, country, recorded);
    } catch (error) {
      // Recorded but not in the bucket: the watch starts over, and opening the bucket again puts it there.
      this.stopWatching?.();
      throw error;
    }
    const deadline = Date.now() + OWN_CHANGE_TIMEOUT_MS;
    while ((this.shown.get(country) ?? -1n) < recorded.position && Date.now() < deadline) await delay(5);
    return recorded.position;
  }

  /**
   * Opens the bucket (creating it if it is missing), puts the recorded rates in it, and watches
   * it from its first entry. Resolves, once the watch has replayed what the bucket holds, with
   * the watch's end: resolved when it is stopped, rejected when it fails.
   */
  private async open(): Promise<{ watching: Promise<void> }> {
    const kv = await this.nats.jetstream().views.kv(configBucketOf(this.topology.namespace), { history: 5 });
    // The stream the watch is on, taken before it begins: one made after is another.
    const { streamInfo } = await kv.status();
    const jsm = await this.nats.jetstreamManager();
    const recorded = recordedTaxRates((await this.store.readStream(TAX_RATES_STREAM)) as RecordedEvent<TaxRateEvent>[]);
    await Promise.all([...recorded].map(([country, rate]) => putRecorded(kv, country, rate)));
    /** The countries the bucket held when the watch began, until it has replayed them. */
    let replaying: Set<string> | undefined = new Set();
    let markReplayed = () => undefined as void;
    const replay = new Promise<void>((resolve) => (markReplayed = resolve));
    const watch = await kv.watch({
      key: `${KEY_PREFIX}>`,
      initializedFn: () => {
        // What the copy held and the bucket no longer does (a rate lost with it that was never recorded) is gone here too.
        for (const country of [...this.rates.keys()]) if (!replaying?.has(country)) this.rates.delete(country);
        replaying = undefined;
        markReplayed();
      },
    });
    const replaced = whenStreamReplaced(jsm, streamInfo, () => watch.stop());
    const watching = (async () => {
      try {
        for await (const entry of watch) {
          replaying?.add(entry.key.slice(KEY_PREFIX.length));
          this.apply(entry);
        }
      } finally {
        replaced.stop();
      }
      if (replaced.seen) throw new Error('the config bucket was deleted or created again');
    })();
    await Promise.race([replay, watching.then(() => Promise.reject(new Error('the tax-rate watch ended before it replayed the bucket')))]);
    this.kv = kv;
    this.stopWatching = () => watch.stop();
    // Shut down while this was opening: nothing else would stop the watch.
    if (this.stopped) watch.stop();
    return { watching };
  }

  /** Opens the bucket again whenever its watch ends, until shutdown. */
  private async keepWatching(first: { watching: Promise<void> }): Promise<void> {
    let watching = first.watching;
    let wait = REOPEN_DELAY_MS;
    for (;;) {
      const failure = await watching.then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
      if (this.stopped) return;
      this.logger.warn(`the tax-rate watch ${failure ? `failed: ${failure.message}` : 'ended'}; opening the config bucket again in ${wait} ms`);
      await delay(wait);
      if (this.stopped) return;
      wait = Math.min(wait * 2, MAX_REOPEN_DELAY_MS);
      watching = this.open().then((opened) => {
        wait = REOPEN_DELAY_MS;
        this.logger.log(`the config bucket is open again, with every recorded rate (${this.rates.size} countries)`);
        return opened.watching;
      });
    }
  }

  private apply(entry: KvEntry): void {
    const country = entry.key.slice(KEY_PREFIX.length);
    if (entry.operation !== 'PUT') return void this.rates.delete(country);
    const held = heldRate(entry);
    if (!held) return this.logger.warn(`ignoring tax rate "${entry.string()}" for ${country}`);
    this.rates.set(country, held.rate);
    if (held.position !== undefined) this.shown.set(country, held.position);
  }
}

/** A rate in the bucket, with the position of its record: none for a rate put there before rates were recorded. */
type HeldRate = Readonly<{ rate: number; position?: bigint }>;

function heldRate(entry: KvEntry): HeldRate | undefined {
  let value: unknown;
  try {
    value = JSON.parse(entry.string());
  } catch {
    return undefined;
  }
  const { rate, position } = (typeof value === 'number' ? { rate: value } : (value ?? {})) as { rate?: unknown; position?: unknown };
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return undefined;
  return typeof position === 'string' && /^\d{1,19}$/.test(position) ? { rate, position: BigInt(position) } : { rate };
}

/**
 * Calls `replaced` once a stream is gone or another has taken its name (checked every 2 s). A KV
 * watch does not always end when its stream is deleted: nats.js starts it again after its last
 * sequence, and when another instance has already made the bucket again, on the new stream,
 * where it would miss what was put there before that sequence. Seen in the tax-rates e2e: an
 * instance kept its copy and never saw a rate set after the loss.
 */
function whenStreamReplaced(jsm: JetStreamManager, watched: StreamInfo, replaced: () => void): { readonly seen: boolean; stop: () => void } {
  const state = { seen: false, stop: () => clearInterval(timer) };
  const check = async () => {
    // NATS unreachable throws: the watch itself fails then.
    const now = await jsm.streams.info(watched.config.name).then(
      (info) => info.created,
      (error: unknown) => {
        if (isJetStreamError(error, STREAM_NOT_FOUND)) return undefined;
        throw error;
      },
    );
    if (now === watched.created || state.seen) return;
    state.seen = true;
    replaced();
  };
  const timer = setInterval(() => void check().catch(() => undefined), BUCKET_CHECK_MS);
  return state;
}

/**
 * Puts a recorded rate in the bucket unless it holds the country's rate from the same or a later
 * record, with a conditional write: instances that put at once, or one that puts back what the
 * record holds while another changes it, leave the latest record's rate.
 */
async function putRecorded(kv: KV, country: string, recorded: RecordedTaxRate): Promise<void> {
  const key = `${KEY_PREFIX}${country}`;
  const value = JSON.stringify({ rate: recorded.rate, position: recorded.position.toString() });
  for (let attempt = 1; ; attempt++) {
    const entry = await kv.get(key);
    const held = entry?.operation === 'PUT' ? heldRate(entry) : undefined;
    if (held?.position !== undefined && held.position >= recorded.position) return;
    try {
      if (entry?.operation === 'PUT') await kv.update(key, value, entry.revision);
      else await kv.create(key, value);
      return;
    } catch (error) {
      // Another writer changed the key since it was read: read it again.
      if (attempt >= PUT_ATTEMPTS) throw error;
    }
  }
}

/** `GET /config/tax-rates`, `PUT /admin/config/tax-rates/:country` (API.md). */
@Controller()
@ApiTags('config')
@ApiBearerAuth()
export class TaxRatesController {
  constructor(
    @Inject(TaxRates) private readonly taxRates: TaxRates,
    @Inject(Commands) private readonly commands: Commands,
  ) {}

  @Get('config/tax-rates')
  @ApiQuery({ name: 'minPosition', required: false, description: 'checked, and met at once: the rates are the copy this instance holds of the config bucket' })
  list(@Query() query: unknown) {
    positionParam(minPositionOf(query));
    return this.taxRates.all();
  }

  @Put('admin/config/tax-rates/:country')
  @Allow('admin')
  @HttpCode(200)
  @BodyOf(taxRateBody)
  async set(@Param('country') country: string, @Body() body: unknown, @Caller() caller: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    // Rates are config, not an aggregate with an ETag: the last write wins, and a caller counting on a check is told so rather than ignored.
    if (request.headers['if-match'] !== undefined) throw problems.invalid('tax rates take no If-Match: they carry no version, and the last write wins', [{ path: 'headers.if-match', message: 'not taken here' }]);
    const code = parseInput(COUNTRY, country, 'params');
    const { rate } = parseInput(taxRateBody, body, 'body');
    const position = await this.taxRates.set(code, rate, this.commands.metadata(request, caller));
    return withPosition(reply, position, { country: code, rate });
  }
}
