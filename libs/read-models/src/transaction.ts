import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` on a pooled connection. A connection lost meanwhile (the server restarted, or
 * ended a transaction left idle too long) is reported on the client, where nobody would hear it
 * and the process would end: the work's statement fails instead, and the connection leaves the
 * pool. `lost` tells the work whether that happened.
 */
async function onConnection<T>(pool: Pool, work: (db: PoolClient, lost: () => boolean) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  let lost: Error | undefined;
  const onLost = (error: Error) => (lost ??= error);
  db.on('error', onLost);
  try {
    return await work(db, () => lost !== undefined);
  } finally {
    db.removeListener('error', onLost);
    db.release(lost);
  }
}

/**
 * Runs `work` in one transaction on a pooled connection (see onConnection); rolls back when it throws.
 *
 * On a pipelining pool (see `pipelined`), BEGIN goes out with the work's first statement instead
 * of a round trip before it. BEGIN on an idle connection fails only with the connection, and
 * then so does every statement sent after it.
 */
export function inTransaction<T>(pool: Pool, work: (db: PoolClient) => Promise<T>): Promise<T> {
  return onConnection(pool, async (db, lost) => {
    try {
      const [, result] = await pipelined(db.query('BEGIN'), work(db));
      await db.query('COMMIT');
      return result;
    } catch (error) {
      if (!lost()) await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/** One SQL statement as pg takes it; a named one is prepared once per connection. */
export type Statement = Readonly<{ name?: string; text: string; values: unknown[] }>;

/**
 * Runs `statements` as one transaction in one round trip on a pipelining pool: BEGIN, the
 * statements and COMMIT go out together. When one fails at the server, those after it fail
 * with it and the COMMIT ends the transaction as a rollback; the first failure is thrown.
 *
 * A statement pg fails before sending it (a value it cannot serialise, a statement name it has
 * prepared for another text) would leave the others to commit without it: so every value is
 * serialised here first, and each statement is named after its text, whatever its name.
 */
export async function transactAtOnce(pool: Pool, statements: readonly Statement[]): Promise<void> {
  const sent = statements.map(({ text, values }) => ({ name: statementNameOf(text), text, values: values.map(serialised) }));
  await onConnection(pool, async (db) => {
    await pipelined(db.query('BEGIN'), ...sent.map((statement) => db.query(statement)), db.query('COMMIT'));
  });
}

/** Names by statement text, hashed once per text: a process sends a few texts, batch after batch. */
const statementNames = new Map<string, string>();

function statementNameOf(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `tidings_${createHash('sha1').update(text).digest('hex')}`));
  return name;
}

/**
 * A value as pg sends it, with the part of its serialisation that can throw (the JSON of an
 * object: one holding a BigInt, say) done now. An array of plain values is sent as it is.
 */
function serialised(value: unknown): unknown {
  if (Array.isArray(value)) return value.some(isObject) ? value.map(serialised) : value;
  if (!isObject(value) || value instanceof Date || ArrayBuffer.isView(value)) return value;
  return JSON.stringify(value);
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object';

/**
 * Runs `work` inside the transaction `db` is in, under a savepoint: when it throws, what it did is
 * undone and the transaction goes on (the error is rethrown); when it succeeds, it is kept.
 */
export async function inSavepoint(db: PoolClient, work: () => Promise<void>): Promise<void> {
  await db.query('SAVEPOINT tidings_work');
  try {
    await work();
  } catch (error) {
    await db.query('ROLLBACK TO SAVEPOINT tidings_work');
    throw error;
  }
  await db.query('RELEASE SAVEPOINT tidings_work');
}

/**
 * Waits for statements sent together on one connection (a pipelining client sends each without
 * waiting for the one before; another queues them): their results in order, or the error of the
 * first that failed — in a transaction, those after it fail only because it did. Every one has
 * settled before this returns or throws, so no work goes on with a connection given back.
 */
export async function pipelined<T extends readonly unknown[]>(...statements: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** PostgreSQL's SQLSTATE for a relation that does not exist: a read model no projector has created yet. */
const UNDEFINED_TABLE = '42P01';

export const isUndefinedTable = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === UNDEFINED_TABLE;

const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01)/;
const TRANSIENT_NODE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/** Errors that say nothing about the event: the database is away, busy, or lost the race. */
export function isTransient(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_ERRORS.has(code))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message ?? '');
}
