import { accessSync, constants } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';

export type Settings = Readonly<{
  databaseUrl: string;
  /** NATS servers (NATS_URL, comma-separated), with a user and password or a token in a URL's user part. */
  natsUrl: string;
  /** A NATS credentials file (NATS_CREDS_FILE: a user JWT and its NKey seed), for servers that use decentralized auth. */
  natsCredsFile?: string;
  /** pino's level (LOG_LEVEL). */
  logLevel: LogLevel;
  eventStore: 'postgres' | 'eventstoredb';
  eventStoreUrl?: string;
  namespace: string;
  /** The address the API listens on (TIDINGS_HOST): every IPv4 interface by default; `::` for IPv6 and, on most systems, IPv4 too. */
  host: string;
  port: number;
  /** Partitions per consumer group (TIDINGS_PARTITIONS): every process of a deployment must agree. */
  partitions: number;
  /** Processes `start` runs (TIDINGS_ROLES), e.g. `relay,projector`. */
  roles: readonly Role[];
  /** `per-role`: `start` runs each of several roles on a worker thread of its own; `single`: all of them on the main thread (TIDINGS_THREADS). */
  threads: 'per-role' | 'single';
  /** Connections each PostgreSQL pool may open (TIDINGS_DATABASE_POOL_SIZE): the event store's and the read models', per role thread. */
  databasePoolSize: number;
  /** How long a consumer's partition lease outlives its last renewal (TIDINGS_LEASE_TTL_MS). */
  leaseTtlMs: number;
  /** HS256 key of the API's bearer tokens (JWT_SECRET). */
  jwtSecret: string;
  /** `production` turns off GraphiQL and introspection (NODE_ENV). */
  production: boolean;
  /** Requests a minute per user, and per IP for anonymous ones (TIDINGS_RATE_LIMIT_USER / _IP). */
  rateLimits: Readonly<{ perUser: number; perIp: number }>;
  /** Browser origins that may open a WebSocket (TIDINGS_ALLOWED_ORIGINS, comma-separated); empty: the API's own. */
  allowedOrigins: readonly string[];
  /**
   * Proxies whose `X-Forwarded-For` names the client (TIDINGS_TRUST_PROXY): their addresses and
   * ranges, or how many hops in front of the API are proxies; none (false) by default.
   */
  trustProxy: false | number | readonly string[];
  /** Checkout saga: how long an authorization may go unanswered (CHECKOUT_PAYMENT_TIMEOUT_MS); the simulated gateway's latency (PAYMENT_SIMULATOR_LATENCY_MS). */
  checkout: Readonly<{ paymentTimeoutMs: number; gatewayLatencyMs: number }>;
  /** Views: how long minute buckets are kept before the compaction job folds them into hours (TIDINGS_VIEWS_MINUTE_RETENTION, e.g. `7d`). */
  views: Readonly<{ minuteRetentionMs: number }>;
  /** Newsfeed: authors (and sharers) with at least this many followers are pulled at read time instead of fanned out on write (TIDINGS_CELEBRITY_FOLLOWERS). */
  social: Readonly<{ celebrityFollowers: number }>;
  /**
   * CSV product imports: rows per chunk, one work item each (TIDINGS_IMPORT_CHUNK_ROWS); the largest file accepted
   * (TIDINGS_IMPORT_MAX_BYTES); chunks a sagas process works on at once (TIDINGS_IMPORT_WORKERS); how long a chunk
   * delivered to a worker that went silent waits before another worker gets it (TIDINGS_IMPORT_ACK_WAIT_MS).
   */
  imports: Readonly<{ chunkRows: number; maxBytes: number; workers: number; ackWaitMs: number }>;
}>;

export const ROLES = ['api', 'relay', 'projector', 'sagas'] as const;
export type Role = (typeof ROLES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * How long a PostgreSQL connection of its own (migrations, the relay's lock, notifications) may
 * take to be set up before it fails (a server that accepts it and never answers): start-up and
 * commands, which migrate first, then say why instead of waiting for ever. Not set on pools: there
 * it would also bound the wait for a free connection, and fail work that only queues.
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 10_000;

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tidings';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** Every IPv4 interface. */
const DEFAULT_HOST = '0.0.0.0';

/**
 * Reads Tidings' configuration from the environment; a wrong value stops start-up with a reason.
 * A variable set to nothing (`PORT=`, as env files leave them) counts as not set.
 */
export function loadSettings(environment: NodeJS.ProcessEnv = process.env): Settings {
  const env = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== '')) as NodeJS.ProcessEnv;
  const eventStore = oneOf('EVENT_STORE', env.EVENT_STORE ?? 'postgres', ['postgres', 'eventstoredb'] as const);
  if (eventStore === 'eventstoredb' && !env.EVENTSTORE_URL) {
    throw new SettingsError('EVENT_STORE=eventstoredb needs EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false)');
  }
  const namespace = env.TIDINGS_NAMESPACE ?? 'tidings';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
    throw new SettingsError(`TIDINGS_NAMESPACE must be 1-32 characters of [A-Za-z0-9_-], not "${namespace}"`);
  }
  return {
    databaseUrl: databaseUrl(env.DATABASE_URL ?? DEFAULT_DATABASE_URL),
    natsUrl: natsServers(env.NATS_URL ?? DEFAULT_NATS_URL),
    ...(env.NATS_CREDS_FILE ? { natsCredsFile: readableFile('NATS_CREDS_FILE', env.NATS_CREDS_FILE) } : {}),
    logLevel: oneOf('LOG_LEVEL', env.LOG_LEVEL ?? 'info', LOG_LEVELS),
    eventStore,
    ...(env.EVENTSTORE_URL ? { eventStoreUrl: eventStoreDbUrl(env.EVENTSTORE_URL) } : {}),
    namespace,
    host: listenAddress(env.TIDINGS_HOST ?? DEFAULT_HOST),
    port: integer('PORT', env.PORT ?? '3000', 0, 65_535),
    partitions: integer('TIDINGS_PARTITIONS', env.TIDINGS_PARTITIONS ?? '8', 1, 256),
    roles: parseRoles(env.TIDINGS_ROLES ?? ROLES.join(',')),
    threads: oneOf('TIDINGS_THREADS', env.TIDINGS_THREADS ?? 'per-role', ['per-role', 'single'] as const),
    databasePoolSize: integer('TIDINGS_DATABASE_POOL_SIZE', env.TIDINGS_DATABASE_POOL_SIZE ?? '10', 1, 1_000),
    leaseTtlMs: integer('TIDINGS_LEASE_TTL_MS', env.TIDINGS_LEASE_TTL_MS ?? '10000', 1_000, 600_000),
    jwtSecret: jwtSecret(env),
    production: env.NODE_ENV === 'production',
    rateLimits: {
      perUser: integer('TIDINGS_RATE_LIMIT_USER', env.TIDINGS_RATE_LIMIT_USER ?? '6000', 1, 10_000_000),
      perIp: integer('TIDINGS_RATE_LIMIT_IP', env.TIDINGS_RATE_LIMIT_IP ?? '6000', 1, 10_000_000),
    },
    allowedOrigins: (env.TIDINGS_ALLOWED_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean).map(browserOrigin),
    trustProxy: env.TIDINGS_TRUST_PROXY === undefined ? false : trustedProxies(env.TIDINGS_TRUST_PROXY),
    checkout: {
      paymentTimeoutMs: integer('CHECKOUT_PAYMENT_TIMEOUT_MS', env.CHECKOUT_PAYMENT_TIMEOUT_MS ?? '30000', 100, 3_600_000),
      gatewayLatencyMs: integer('PAYMENT_SIMULATOR_LATENCY_MS', env.PAYMENT_SIMULATOR_LATENCY_MS ?? '0', 0, 60_000),
    },
    views: { minuteRetentionMs: duration('TIDINGS_VIEWS_MINUTE_RETENTION', env.TIDINGS_VIEWS_MINUTE_RETENTION ?? '7d', 60_000) },
    social: { celebrityFollowers: integer('TIDINGS_CELEBRITY_FOLLOWERS', env.TIDINGS_CELEBRITY_FOLLOWERS ?? '10000', 0, 1_000_000_000) },
    imports: {
      chunkRows: integer('TIDINGS_IMPORT_CHUNK_ROWS', env.TIDINGS_IMPORT_CHUNK_ROWS ?? '1000', 1, 100_000),
      maxBytes: integer('TIDINGS_IMPORT_MAX_BYTES', env.TIDINGS_IMPORT_MAX_BYTES ?? String(256 * 1024 * 1024), 1_024, 2 ** 40),
      workers: integer('TIDINGS_IMPORT_WORKERS', env.TIDINGS_IMPORT_WORKERS ?? '4', 1, 64),
      ackWaitMs: integer('TIDINGS_IMPORT_ACK_WAIT_MS', env.TIDINGS_IMPORT_ACK_WAIT_MS ?? '30000', 1_000, 3_600_000),
    },
  };
}

/** Outside production a well-known development key is used, so `npm start` runs as is; production must set one. */
export const DEVELOPMENT_JWT_SECRET = 'tidings-development-secret-do-not-use-in-production';

const jwtSecret = (env: NodeJS.ProcessEnv): string => {
  const secret = env.JWT_SECRET ?? (env.NODE_ENV === 'production' ? undefined : DEVELOPMENT_JWT_SECRET);
  if (!secret) throw new SettingsError('JWT_SECRET must be set when NODE_ENV=production');
  if (env.NODE_ENV === 'production' && secret === DEVELOPMENT_JWT_SECRET) throw new SettingsError('JWT_SECRET must not be the public development key when NODE_ENV=production');
  if (secret.length < 32) throw new SettingsError('JWT_SECRET must be at least 32 characters (HS256 needs a 256-bit key)');
  return secret;
};

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** A URL of one of `protocols`. The refusal does not repeat the value, which may hold a password. */
const url = (name: string, value: string, protocols: readonly string[]): string => {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    // answered below
  }
  if (!parsed || !protocols.includes(parsed.protocol)) {
    throw new SettingsError(`${name} must be a URL starting ${protocols.map((protocol) => `${protocol}//`).join(' or ')}${parsed ? `, not ${parsed.protocol}//` : ''}`);
  }
  return value;
};

/** DATABASE_URL: a PostgreSQL URL that names its database, its user and password percent-encoded. */
const databaseUrl = (value: string): string => {
  const { pathname, username, password } = new URL(url('DATABASE_URL', value, ['postgres:', 'postgresql:']));
  if (pathname.length <= 1) throw new SettingsError('DATABASE_URL must name a database, as in postgres://postgres@127.0.0.1:5432/tidings');
  try {
    decodeURIComponent(username + password);
  } catch {
    throw new SettingsError("DATABASE_URL's user and password must be percent-encoded (a % as %25)");
  }
  return value;
};

/** An Origin as a browser sends it (scheme, host and port, nothing after): compared as it is, so `https://app.example/` would match no browser. */
const browserOrigin = (value: string): string => {
  let origin: string | undefined;
  try {
    const parsed = new URL(value);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') origin = parsed.origin;
  } catch {
    // answered below
  }
  if (origin !== value) throw new SettingsError(`TIDINGS_ALLOWED_ORIGINS must list origins as browsers send them (https://app.example.com, http://localhost:5173), not "${value}"`);
  return value;
};

/** EVENTSTORE_URL: an EventStoreDB connection string, whose hosts a cluster's lists comma-separated (esdb://a:2113,b:2113?tls=true), which no URL parser takes. */
const eventStoreDbUrl = (value: string): string => {
  if (!/^esdb(\+discover)?:\/\/[^/?#]+/.test(value)) throw new SettingsError('EVENTSTORE_URL must be an EventStoreDB connection string starting esdb:// or esdb+discover://');
  return value;
};

/**
 * NATS_URL: servers, comma-separated, each `nats://` or `tls://` (nats.js speaks TCP; `tls://`
 * makes it require TLS) with a host, or a bare host:port; a user part must be percent-encoded.
 */
const natsServers = (value: string): string => {
  for (const server of value.split(',').map((entry) => entry.trim())) {
    const withScheme = /^[a-z]+:\/\//.test(server) ? server : `nats://${server}`;
    url('NATS_URL', withScheme, ['nats:', 'tls:']);
    const { hostname, username, password } = new URL(withScheme);
    if (!hostname) throw new SettingsError('NATS_URL must name a host for every server');
    try {
      decodeURIComponent(username + password);
    } catch {
      throw new SettingsError("NATS_URL's user and password must be percent-encoded (a % as %25)");
    }
  }
  return value;
};

/** NATS_CREDS_FILE: a file this process can read. */
const readableFile = (name: string, path: string): string => {
  try {
    accessSync(path, constants.R_OK);
    return path;
  } catch {
    throw new SettingsError(`${name} names a file this process cannot read: ${path}`);
  }
};

/** An IP address without a zone (`%eth0`), or a host name (`localhost`) whose last label is not a number. */
const listenAddress = (value: string): string => {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
  const hostName = new RegExp(`^(?:${label}\\.)*${label}$`).test(value) && !/(?:^|\.)\d+$/.test(value);
  if ((isIP(value) !== 0 && !value.includes('%')) || hostName) return value;
  throw new SettingsError(`TIDINGS_HOST must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name, not "${value}"`);
};

/** Named ranges Fastify (proxy-addr) knows: 127.0.0.1/8 and ::1; link-local; private (10/8, 172.16/12, 192.168/16, fc00::/7). */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** TIDINGS_TRUST_PROXY: a number of hops, or proxies' addresses, CIDR ranges and named ranges, comma-separated. */
const trustedProxies = (value: string): number | string[] => {
  if (/^\d+$/.test(value.trim())) return integer('TIDINGS_TRUST_PROXY', value.trim(), 1, 100);
  const proxies = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const proxy of proxies) {
    const [address, prefix, ...more] = proxy.split('/');
    const version = isIP(address);
    const range = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 6 ? 128 : 32));
    if (!PROXY_RANGES.includes(proxy) && (version === 0 || !range || more.length > 0)) {
      throw new SettingsError(`TIDINGS_TRUST_PROXY must be a number of hops or proxies' addresses, comma-separated (10.0.0.7, 10.0.0.0/8, ${PROXY_RANGES.join(', ')}), not "${proxy}"`);
    }
  }
  return proxies;
};

/** Where this machine reaches an API listening on `host` and `port`: the loopback address for a wildcard. */
export function apiOrigin(host: string, port: number): string {
  if (host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** A whole number in decimal digits (not `0x50`, `3e3` or `12.0`) from `min` to `max`. */
const integer = (name: string, value: string, min: number, max: number): number => {
  const parsed = /^-?\d{1,16}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new SettingsError(`${name} must be an integer ${min}-${max}, not "${value}"`);
  return parsed;
};

const oneOf = <Value extends string>(name: string, value: string, values: readonly Value[]): Value => {
  if (!(values as readonly string[]).includes(value)) throw new SettingsError(`${name} must be one of ${values.join(', ')}, not "${value}"`);
  return value as Value;
};

const DURATION_UNITS_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `12h`, `7d`: whole units, at least `min` ms. */
const duration = (name: string, value: string, min: number): number => {
  const match = /^(\d{1,6})([smhd])$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2]] : NaN;
  if (!(ms >= min)) throw new SettingsError(`${name} must be a duration such as 90s, 30m, 12h or 7d, of at least ${min / 1000} s, not "${value}"`);
  return ms;
};

/** The roles a TIDINGS_ROLES value lists (comma-separated, each once); throws SettingsError for an unknown or none. */
export const parseRoles = (value: string): Role[] => {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(ROLES as readonly string[]).includes(name));
  if (unknown.length || names.length === 0) {
    throw new SettingsError(`TIDINGS_ROLES must list some of ${ROLES.join(', ')}, not "${value}"`);
  }
  return [...new Set(names)] as Role[];
};
