import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { headers, type JetStreamClient, type JetStreamManager, type MsgHdrs, type NatsConnection } from 'nats';
import type { EventStore, RecordedEvent } from '@tidings/core';
import { openEventStore } from '@tidings/event-store';
import {
  connectNats,
  encodeEvent,
  ensureEventStream,
  eventTopology,
  POSITION_HEADER,
  Relay,
  subjectOf,
  type EventTopology,
} from '@tidings/messaging';
import { migrate } from '@tidings/read-models';
import type { Settings } from '@tidings/settings';
import { startProgress } from '../progress';
import { compared, median, type BenchResult } from './bench-result';
import { ensureInventoryDataset, INVENTORY_DATASET, readEvents } from './rebuild.bench';

const ROUNDS = 3;
/** QUALITY.md: 50k stored events → JetStream. */
const EVENTS = 50_000;
const WARM_UP_EVENTS = 5_000;
/** Publishes awaiting their acknowledgement at once, for the relay and the baseline alike. */
export const PUBLISH_WINDOW = 1_000;
/** A relay or baseline that acknowledges nothing new for this long has failed. */
const STALL_MS = 30_000;

/**
 * Times the Relay publishing 50k stored inventory events (the first 50k of the inventory
 * dataset) into a fresh stream — from `start()` until its contiguously acknowledged position
 * reaches the last of them — against a bare nats.js loop publishing the same bodies and headers
 * (encodeEvent), under the same message ids and subjects, with the same window of publishes in
 * flight, into another fresh stream. Every stream lives in a namespace of its own and is
 * deleted afterwards.
 */
export async function benchRelay(settings: Settings): Promise<BenchResult> {
  await migrate(settings.databaseUrl);
  const run = randomBytes(3).toString('hex');
  const store = openEventStore(settings);
  const nats = await connectNats(settings, `tidings-bench-relay-${run}`);
  const jsm = await nats.jetstreamManager();
  const streams: string[] = [];
  let fresh = 0;
  const freshTopology = (): EventTopology => {
    const topology = eventTopology(`${settings.namespace}_bench_${run}_${++fresh}`, settings.partitions);
    streams.push(topology.stream);
    return topology;
  };
  try {
    const dataset = await ensureInventoryDataset(store, INVENTORY_DATASET);
    const events = await readEvents(store, dataset.from, EVENTS, 'reading the events to relay');
    const relay = (label: string, slice: readonly RecordedEvent[]) =>
      timeRelay({ settings, store, nats, jsm, topology: freshTopology(), from: dataset.from, events: slice, label });
    const bare = (label: string, slice: readonly RecordedEvent[]) => timeBarePublish({ nats, jsm, topology: freshTopology(), events: slice, label });
    // Connections, JIT and JetStream's first streams warmed on both paths before timing.
    await bare('relay warm-up baseline', events.slice(0, WARM_UP_EVENTS));
    await relay('relay warm-up relay', events.slice(0, WARM_UP_EVENTS));
    await deleteStreams(jsm, streams.splice(0));
    const bareRates: number[] = [];
    const relayRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const phases = [
        async () => bareRates.push(EVENTS / (await bare(`relay baseline ${round}/${ROUNDS}`, events))),
        async () => relayRates.push(EVENTS / (await relay(`relay ${round}/${ROUNDS}`, events))),
      ];
      // Alternating order: whatever one phase leaves behind (stream files, GC) falls on both.
      for (const phase of round % 2 ? phases : phases.reverse()) await phase();
      await deleteStreams(jsm, streams.splice(0));
    }
    return compared('relay', 'events_per_s', median(relayRates), 'bare_async_publish_w1000', median(bareRates));
  } finally {
    await deleteStreams(jsm, streams);
    await nats.close();
    await store.close();
  }
}

type RelayRound = Readonly<{
  settings: Settings;
  store: EventStore;
  nats: NatsConnection;
  jsm: JetStreamManager;
  topology: EventTopology;
  /** The position just before the first event: where the relay is to start. */
  from: bigint;
  events: readonly RecordedEvent[];
  label: string;
}>;

/** Seconds from `start()` until the relay has every one of `events` acknowledged. */
async function timeRelay({ settings, store, nats, jsm, topology, from, events, label }: RelayRound): Promise<number> {
  await ensureEventStream(jsm, topology);
  // The relay resumes after the position in its stream's last message: one marker message makes it start at `from`.
  const marker = headers();
  marker.set(POSITION_HEADER, from.toString());
  await nats.jetstream().publish(`${topology.namespace}.events.benchstart.0`, new Uint8Array(0), { headers: marker });
  const last = events[events.length - 1].position;
  const logged: string[] = [];
  const relay = new Relay({ store, nats: settings, databaseUrl: settings.databaseUrl, topology, window: PUBLISH_WINDOW, log: (line) => logged.push(line), warn: (line) => logged.push(line) });
  const progress = startProgress(label, events.length);
  let done = 0;
  let progressed = Date.now();
  const started = process.hrtime.bigint();
  relay.start();
  try {
    for (;;) {
      const acknowledged = relay.state.acknowledged;
      if (acknowledged >= last) break;
      const now = countUpTo(events, acknowledged);
      if (now > done) {
        progress.advance(now - done);
        done = now;
        progressed = Date.now();
      } else if (Date.now() - progressed > STALL_MS) {
        throw new Error(`the relay acknowledged nothing for ${STALL_MS / 1000} s at position ${acknowledged}: ${logged.slice(-3).join('; ')}`);
      }
      await delay(2);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    progress.advance(events.length - done);
    return seconds;
  } finally {
    progress.stop();
    await relay.stop();
  }
}

/** How many of `events` (in position order) are at or below `position`. */
function countUpTo(events: readonly RecordedEvent[], position: bigint): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle].position <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

type BareRound = Readonly<{ nats: NatsConnection; jsm: JetStreamManager; topology: EventTopology; events: readonly RecordedEvent[]; label: string }>;

/** Seconds to publish `events` with nothing but nats.js: bodies, headers and subjects prepared beforehand. */
async function timeBarePublish({ nats, jsm, topology, events, label }: BareRound): Promise<number> {
  await ensureEventStream(jsm, topology);
  const messages = eventMessages(topology, events);
  const progress = startProgress(label, messages.length);
  const started = process.hrtime.bigint();
  await publishAll(nats.jetstream(), messages, PUBLISH_WINDOW, () => progress.advance());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  progress.stop();
  const { state } = await jsm.streams.info(topology.stream);
  if (state.messages !== messages.length) throw new Error(`the baseline stream holds ${state.messages} messages, not ${messages.length}`);
  return seconds;
}

export type EventMessage = Readonly<{ subject: string; msgID: string; data: Uint8Array; headers: MsgHdrs }>;

/** What the relay publishes for each event: its subject, id, body and headers. */
export const eventMessages = (topology: EventTopology, events: readonly RecordedEvent[]): EventMessage[] =>
  events.map((event) => ({ subject: subjectOf(topology, event.streamId), msgID: event.eventId, ...encodeEvent(event) }));

/** Async publish, in order, with at most `window` publishes awaiting their acknowledgement; throws the first failure. */
export async function publishAll(js: JetStreamClient, messages: readonly EventMessage[], window: number, acknowledged: () => void): Promise<void> {
  let inFlight = 0;
  let failure: unknown;
  let wake: () => void = () => undefined;
  const settle = () => {
    inFlight--;
    wake();
  };
  for (const { subject, msgID, data, headers: messageHeaders } of messages) {
    while (inFlight >= window && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) break;
    inFlight++;
    js.publish(subject, data, { msgID, headers: messageHeaders }).then(
      () => {
        acknowledged();
        settle();
      },
      (error: unknown) => {
        failure ??= error;
        settle();
      },
    );
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (failure !== undefined) throw failure;
}

export async function deleteStreams(jsm: JetStreamManager, names: readonly string[]): Promise<void> {
  for (const name of names) await jsm.streams.delete(name).catch(() => false);
}
