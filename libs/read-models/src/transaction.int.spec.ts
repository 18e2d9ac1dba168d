import { useTestDatabase } from '@tidings/testing';
import { inTransaction, isTransient } from './transaction';

describe('inTransaction', () => {
  const { pool } = useTestDatabase();

  it('fails, as a transient error, when the server ends its connection between statements, and the pool serves the next transaction', async () => {
    const attempt = inTransaction(pool, async (db) => {
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Ended from elsewhere while the work is between statements (as a restart or an idle-transaction timeout would).
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.query('SELECT 1');
    });
    const error = await attempt.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isTransient(error)).toBe(true);
    await expect(inTransaction(pool, async (db) => (await db.query<{ one: number }>('SELECT 1 AS one')).rows[0].one)).resolves.toBe(1);
  });
});
