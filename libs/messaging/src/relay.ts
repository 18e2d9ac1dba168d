import { Client } from 'pg';
import { DATABASE_CONNECT_TIMEOUT_MS } from '@tidings/settings';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import type { AllSubscription, EventStore } from '@tidings/core';
import { encodeEvent } from './event-message';
import { subjectOf, type EventTopology } from './event-topology';
import { ensureEventStream, isJetStreamError, lastPublishedPosition, STREAM_NOT_FOUND } from './jetstream';
import { natsConnectionOptions, type NatsAddress } from './nats-address';
import { PipelinedPublisher } from './pipelined-publisher';
import { PublishWindow } from './publish-window';
import { sleep } from './sleep';

export type RelayOptions = Readonly<{
  store: EventStore;
  nats: NatsAddress;
  /** The database whose advisory lock elects the one active relay of a namespace. */
  databaseUrl: string;
  topology: EventTopology;
  /** Publishes awaiting their acknowledgement at once. */
  window?: number;
  /** How often a standby tries to become active, and the active one checks the stream. */
  checkIntervalMs?: number;
  /** A publish not acknowledged within this long fails the run; the relay resumes after what was. */
  ackTimeoutMs?: number;
  /** Told when the relay becomes active. */
  log?: (line: string) => void;
  /** Told what went wrong and what happens next (the database or NATS away, the stream lost events): operators' warnings. */
  warn?: (line: string) => void;
}>;

export type RelayState = Readonly<{ active: boolean; acknowledged: bigint }>;

/** The lock held on its own connection; `lost` settles when the connection goes or the relay steps down. */
type Leadership = Readonly<{ client: Client; lost: Promise<void>; stepDown: () => void }>;

// Advisory lock class for relays; the object id is the namespace's hash.
const RELAY_LOCK_CLASS = 1952804353;
/** Checks an active relay may miss before PostgreSQL ends its lock's session. */
const SILENT_LEADER_CHECKS = 5;

/**
 * Tails the store's `$all` and publishes every event to JetStream under its event id, in order
 * (ARCHITECTURE §4). One relay per namespace is active: it holds a PostgreSQL advisory lock on
 * its own connection, so a killed relay's lock goes with its connection and a standby takes
 * over at its next check; a frozen one's goes when its session has been silent for five checks. Where to start is read back from the stream's last message, so a
 * stream that was deleted or lost its data is republished from the store; republishing what
 * is already there is harmless, JetStream drops ids it has seen within the duplicate window.
 *
 * The relay's NATS connection does not reconnect: nats.js would send what it buffered while
 * disconnected after publishes the broken connection lost, out of order. A closed connection
 * ends the run instead, and the next one republishes from the last contiguous acknowledgement.
 */
export class Relay {
  private readonly window: number;
  private readonly checkIntervalMs: number;
  private readonly log: (line: string) => void;
  private readonly warn: (line: string) => void;
  private readonly stopping = new AbortController();
  private interrupt: () => void = () => undefined;
  private running?: Promise<void>;
  private active = false;
  private publishing?: PublishWindow;
  private acknowledged = 0n;

  constructor(private readonly options: RelayOptions) {
    this.window = options.window ?? 1_000;
    this.checkIntervalMs = options.checkIntervalMs ?? 1_000;
    this.log = options.log ?? (() => undefined);
    this.warn = options.warn ?? (() => undefined);
  }

  get state(): RelayState {
    return { active: this.active, acknowledged: this.publishing?.acknowledged ?? this.acknowledged };
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.interrupt();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const leadership = await this.becomeActive().catch((error: unknown) => {
        this.warn(`relay: cannot reach the database for leadership: ${(error as Error).message}`);
        return undefined;
      });
      if (!leadership) {
        await sleep(Math.min(this.checkIntervalMs * 2 ** failures++, 10_000), this.stopping.signal);
        continue;
      }
      failures = 0;
      const heartbeat = this.keepAlive(leadership);
      try {
        this.log('relay: active');
        await this.publishWhileActive(leadership);
      } finally {
        clearInterval(heartbeat);
        this.active = false;
        // Not awaited: over a stalled network the connection's end may never be seen, and the relay must go on as a standby.
        void leadership.client.end().catch(() => undefined);
      }
    }
  }

  /** Waits until this relay holds the lock (or is stopped, then undefined). */
  private async becomeActive(): Promise<Leadership | undefined> {
    const client = new Client({ connectionString: this.options.databaseUrl, application_name: 'tidings-relay', connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
    let stepDown = () => undefined as void;
    const lost = new Promise<void>((resolve) => {
      stepDown = resolve;
      client.on('error', () => resolve());
      client.on('end', () => resolve());
    });
    await client.connect();
    // A session silent this long is ended by PostgreSQL, and its lock with it: the active relay
    // queries every check, so only a process that has stopped running (SIGSTOP, a hung host)
    // falls silent, and a standby takes over, as after a kill. PostgreSQL 13 has no such
    // setting: there a frozen relay keeps its lock until its connection drops.
    const { rows: version } = await client.query<{ number: number }>(`SELECT current_setting('server_version_num')::int AS number`);
    if (version[0].number >= 140_000) await client.query(`SET idle_session_timeout = ${SILENT_LEADER_CHECKS * this.checkIntervalMs}`);
    while (!this.stopping.signal.aborted) {
      const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS held', [
        RELAY_LOCK_CLASS,
        this.options.topology.namespace,
      ]);
      if (rows[0].held) return { client, lost, stepDown };
      await sleep(this.checkIntervalMs, this.stopping.signal);
    }
    await client.end();
    return undefined;
  }

  /**
   * The lock's session shows PostgreSQL this relay is alive. A relay whose queries go unanswered
   * for a check less than PostgreSQL waits (the network, a stall) steps down before a standby can
   * take over, so two relays do not publish at once.
   */
  private keepAlive(leadership: Leadership): NodeJS.Timeout {
    // Checks since the last query was sent that have not seen its answer; one query at a time.
    let unanswered: number | undefined;
    return setInterval(() => {
      if (unanswered !== undefined) {
        if (++unanswered === SILENT_LEADER_CHECKS - 1) {
          this.warn(`relay: the database has not answered for ${unanswered} checks; stepping down`);
          leadership.stepDown();
        }
        return;
      }
      unanswered = 0;
      leadership.client.query('SELECT 1').then(
        () => void (unanswered = undefined),
        () => leadership.stepDown(),
      );
    }, this.checkIntervalMs);
  }

  private async publishWhileActive(leadership: Leadership): Promise<void> {
    let lostLeadership = false;
    void leadership.lost.then(() => {
      lostLeadership = true;
      this.interrupt();
    });
    let acknowledged: bigint | undefined;
    let failures = 0;
    while (!this.stopping.signal.aborted && !lostLeadership) {
      let nats: NatsConnection | undefined;
      try {
        nats = await connect({ ...natsConnectionOptions(this.options.nats), name: 'tidings-relay', reconnect: false, noAsyncTraces: true });
        const jsm = await nats.jetstreamManager();
        const streamCreated = (await ensureEventStream(jsm, this.options.topology)).created;
        const inStream = await lastPublishedPosition(jsm, this.options.topology);
        // After an error the stream may hold less than we saw acknowledged (it was deleted or lost data).
        const from = acknowledged === undefined || inStream < acknowledged ? inStream : acknowledged;
        if (acknowledged !== undefined && from < acknowledged) this.warn(`relay: the stream lost events; republishing from position ${from}`);
        acknowledged = await this.publishFrom(from, nats, jsm, streamCreated);
        failures = 0;
      } catch (error) {
        const failure = error as Error & { acknowledged?: bigint };
        acknowledged = failure.acknowledged ?? acknowledged;
        this.warn(`relay: ${failure.message}; resuming from position ${acknowledged ?? 'the stream'}`);
        await sleep(Math.min(100 * 2 ** failures++, 5_000), this.stopping.signal);
      } finally {
        await nats?.close().catch(() => undefined);
      }
    }
  }

  /** Publishes from `from` until stopped or interrupted; returns the acknowledged position, or throws carrying it. */
  private async publishFrom(from: bigint, nats: NatsConnection, jsm: JetStreamManager, streamCreated: string): Promise<bigint> {
    const subscription: AllSubscription = this.options.store.subscribeToAll({ fromPosition: from });
    let streamProblem: Error | undefined;
    const interrupted = () => void subscription.close();
    this.interrupt = interrupted;
    const window = new PublishWindow(this.window, from, interrupted);
    const publisher = new PipelinedPublisher(nats, window, this.options.ackTimeoutMs ?? 5_000);
    const watch = setInterval(() => {
      void this.checkStream(jsm, streamCreated).then((problem) => {
        if (problem && !streamProblem) {
          streamProblem = problem;
          interrupted();
        }
      });
    }, this.checkIntervalMs);
    this.active = true;
    this.publishing = window;
    try {
      // A page goes out in one synchronous run (nats.js writes it to the socket at once) unless the window fills.
      for await (const page of subscription) {
        for (const event of page) {
          if (window.full || window.failure !== undefined) await window.room();
          const { data, headers } = encodeEvent(event);
          publisher.publish(event.position, subjectOf(this.options.topology, event.streamId), data, headers, event.eventId);
        }
      }
      await window.drain();
    } catch (error) {
      window.fail(error);
    } finally {
      clearInterval(watch);
      publisher.close();
      this.interrupt = () => undefined;
      await subscription.close();
    }
    this.publishing = undefined;
    this.acknowledged = window.acknowledged;
    const failure = streamProblem ?? (window.failure as Error | undefined);
    if (failure) throw Object.assign(new Error(describe(failure)), { acknowledged: window.acknowledged });
    return window.acknowledged;
  }

  /** A stream that was deleted, recreated or lost messages means republishing from the store. */
  private async checkStream(jsm: JetStreamManager, created: string): Promise<Error | undefined> {
    try {
      const info = await jsm.streams.info(this.options.topology.stream);
      return info.created === created ? undefined : new Error('the events stream was recreated');
    } catch (error) {
      return isJetStreamError(error, STREAM_NOT_FOUND) ? new Error('the events stream is gone') : undefined;
    }
  }
}

const describe = (error: unknown): string =>
  isJetStreamError(error, STREAM_NOT_FOUND) ? 'no events stream to publish to' : ((error as Error).message ?? String(error));
