import { connect, StorageType, type JetStreamManager, type NatsConnection, type StreamInfo } from 'nats';
import type { EventTopology } from './event-topology';
import { POSITION_HEADER } from './event-message';
import { natsConnectionOptions, type NatsAddress } from './nats-address';

/**
 * A connection that keeps reconnecting: NATS restarts are survived, not reported as crashes.
 * No async stack traces: nats.js would build two per publish (measured: a third of the relay's time).
 */
export const connectNats = async (address: NatsAddress, name: string): Promise<NatsConnection> => {
  const options = natsConnectionOptions(address);
  return connect({ ...options, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, noAsyncTraces: true }).catch((error: unknown) => {
    // nats.js says only CONNECTION_REFUSED or TIMEOUT: the operator needs to know where.
    throw Object.assign(new Error(`cannot connect to NATS at ${String(options.servers)}: ${(error as Error).message}`, { cause: error }), { code: (error as { code?: unknown }).code, name: (error as Error).name });
  });
};

/**
 * Tells an operator when the connection to NATS is lost and when it is back (nats.js reconnects
 * by itself, silently): every role shares the connection, so one line covers them all.
 */
export async function reportConnectionChanges(nats: NatsConnection, log: Readonly<{ warn: (line: string) => void; log: (line: string) => void }>): Promise<void> {
  for await (const status of nats.status()) {
    if (status.type === 'disconnect') log.warn(`NATS connection to ${String(status.data)} lost: reconnecting every 500 ms; consumers and the relay wait, and requests that need NATS are answered 503`);
    else if (status.type === 'reconnect') log.log(`NATS connection to ${String(status.data)} is back`);
    else if (status.type === 'error') log.warn(`NATS connection: ${String(status.data)}`);
  }
}

const NANOS_PER_MS = 1_000_000;
/** JetStream deduplicates a republished event id within this window (ARCHITECTURE §4: ≥ 10 min). */
const DUPLICATE_WINDOW_MS = 15 * 60_000;

/**
 * Creates the events stream when it is missing; returns its info either way. A stream of that
 * name that holds another namespace's subjects (names differing only in case, or in - and _,
 * share a stream name) is refused with why, rather than published to and consumed in vain.
 */
export async function ensureEventStream(jsm: JetStreamManager, topology: EventTopology): Promise<StreamInfo> {
  try {
    return ofThisNamespace(await jsm.streams.info(topology.stream), topology);
  } catch (error) {
    if (!isJetStreamError(error, STREAM_NOT_FOUND)) throw error;
  }
  try {
    return await jsm.streams.add({
      name: topology.stream,
      subjects: [topology.subjects],
      storage: StorageType.File,
      duplicate_window: DUPLICATE_WINDOW_MS * NANOS_PER_MS,
    });
  } catch (error) {
    // Another process created it at the same moment.
    if (isJetStreamError(error, STREAM_NAME_IN_USE)) return ofThisNamespace(await jsm.streams.info(topology.stream), topology);
    throw error;
  }
}

function ofThisNamespace(info: StreamInfo, topology: EventTopology): StreamInfo {
  if (info.config.subjects?.includes(topology.subjects)) return info;
  throw new Error(
    `the JetStream stream ${topology.stream} holds ${info.config.subjects?.join(', ') ?? 'no subjects'}, not ${topology.subjects}: ` +
      `another namespace uses it (names differing only in case, or in - and _, share a stream); choose another TIDINGS_NAMESPACE`,
  );
}

/** The position in the stream's last message: how far the relay got (0 for an empty or missing stream). */
export async function lastPublishedPosition(jsm: JetStreamManager, topology: EventTopology): Promise<bigint> {
  return positionOfLastMessage(jsm, await ensureEventStream(jsm, topology));
}

/** The position in the last message of a stream as `info` found it (0 when it was empty). */
export async function positionOfLastMessage(jsm: JetStreamManager, info: StreamInfo): Promise<bigint> {
  if (info.state.messages === 0) return 0n;
  const message = await jsm.streams.getMessage(info.config.name, { seq: info.state.last_seq });
  return BigInt(message.header.get(POSITION_HEADER) || '0');
}

export const STREAM_NOT_FOUND = 10059;
export const STREAM_NAME_IN_USE = 10058;
export const CONSUMER_NOT_FOUND = 10014;

export const isJetStreamError = (error: unknown, errorCode: number): boolean =>
  (error as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === errorCode;

/**
 * The stream sequence of the first message after `position`. The relay publishes in position
 * order, so positions grow with sequences and a binary search over message headers finds it.
 */
export async function firstSequenceAfter(jsm: JetStreamManager, topology: EventTopology, position: bigint): Promise<number> {
  const { state } = await jsm.streams.info(topology.stream);
  // An empty new stream reports first_seq 0; sequences start at 1.
  let low = Math.max(state.first_seq, 1);
  let high = state.last_seq + 1;
  if (state.messages === 0) return Math.max(low, high);
  if (position === 0n) return low;
  const first = low;
  // A message without a position (not the relay's) counts as where the last one before it with a position is:
  // positions then still never fall as sequences grow, and the search cannot jump past events not yet applied.
  const positionAt = async (seq: number): Promise<bigint> => {
    for (let at = seq; at >= first; at--) {
      const header = (await jsm.streams.getMessage(topology.stream, { seq: at })).header.get(POSITION_HEADER);
      if (/^\d+$/.test(header)) return BigInt(header);
    }
    return 0n;
  };
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if ((await positionAt(middle)) > position) high = middle;
    else low = middle + 1;
  }
  return low;
}
