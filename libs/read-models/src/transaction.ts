import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on a pooled connection; rolls back when it throws. A connection
 * lost meanwhile (the server restarted, or ended a transaction left idle too long) is reported
 * on the client, where nobody would hear it and the process would end: the work's statement
 * fails instead, and the connection leaves the pool.
 */
export async function inTransaction<T>(pool: Pool, work: (db: PoolClient) => Promise<T>): Promise<T> {
  const db = await pool.connect();
  let lost: Error | undefined;
  const onLost = (error: Error) => (lost ??= error);
  db.on('error', onLost);
  try {
    await db.query('BEGIN');
    const result = await work(db);
    await db.query('COMMIT');
    return result;
  } catch (error) {
    if (!lost) await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    db.removeListener('error', onLost);
    db.release(lost);
  }
}

const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01)/;
const TRANSIENT_NODE_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

/** Errors that say nothing about the event: the database is away, busy, or lost the race. */
export function isTransient(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_NODE_ERRORS.has(code))) return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message ?? '');
}
