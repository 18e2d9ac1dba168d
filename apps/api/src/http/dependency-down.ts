import { isTransient } from '@tidings/read-models';

/** @eventstore/db-client's ErrorType of a server that cannot be reached or did not answer in time (its deadline, or the server's own timeout). */
const EVENTSTOREDB_DOWN = new Set(['unavailable', 'deadline-exceeded', 'timeout']);
/** nats.js's codes of a server that cannot be reached or did not answer (a KV write, say). */
const NATS_DOWN = new Set(['CONNECTION_REFUSED', 'CONNECTION_CLOSED', 'DISCONNECT', 'TIMEOUT', '503']);

/** An error that says nothing about the request: PostgreSQL, EventStoreDB or NATS is away or busy (503, not 500). */
export function isDependencyDown(error: unknown): boolean {
  if (isTransient(error)) return true;
  const { type, code, name } = (error ?? {}) as { type?: unknown; code?: unknown; name?: unknown };
  return (typeof type === 'string' && EVENTSTOREDB_DOWN.has(type)) || (name === 'NatsError' && typeof code === 'string' && NATS_DOWN.has(code));
}
