export type Settings = Readonly<{
  databaseUrl: string;
  natsUrl: string;
  eventStore: 'postgres' | 'eventstoredb';
  eventStoreUrl?: string;
  namespace: string;
  port: number;
}>;

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tidings';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Reads Tidings' configuration from the environment; a wrong value stops start-up with a reason. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const eventStore = env.EVENT_STORE ?? 'postgres';
  if (eventStore !== 'postgres' && eventStore !== 'eventstoredb') {
    throw new SettingsError(`EVENT_STORE must be postgres or eventstoredb, not "${eventStore}"`);
  }
  if (eventStore === 'eventstoredb' && !env.EVENTSTORE_URL) {
    throw new SettingsError('EVENT_STORE=eventstoredb needs EVENTSTORE_URL (e.g. esdb://127.0.0.1:2113?tls=false)');
  }
  const namespace = env.TIDINGS_NAMESPACE ?? 'tidings';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
    throw new SettingsError(`TIDINGS_NAMESPACE must be 1-32 characters of [A-Za-z0-9_-], not "${namespace}"`);
  }
  return {
    databaseUrl: url('DATABASE_URL', env.DATABASE_URL ?? DEFAULT_DATABASE_URL),
    natsUrl: env.NATS_URL ?? DEFAULT_NATS_URL,
    eventStore,
    ...(env.EVENTSTORE_URL ? { eventStoreUrl: env.EVENTSTORE_URL } : {}),
    namespace,
    port: port(env.PORT ?? '3000'),
  };
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

const url = (name: string, value: string): string => {
  try {
    new URL(value);
    return value;
  } catch {
    throw new SettingsError(`${name} is not a URL: "${value}"`);
  }
};

const port = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new SettingsError(`PORT must be 0-65535, not "${value}"`);
  return parsed;
};
