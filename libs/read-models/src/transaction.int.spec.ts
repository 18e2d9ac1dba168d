import { useTestDatabase } from '@tidings/testing';
import { inTransaction, isTransient, pipelined, transactAtOnce } from './transaction';

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

describe('statements pipelined in a transaction', () => {
  const { pool } = useTestDatabase();

  beforeAll(async () => {
    await pool.query('CREATE TABLE pipelined (id int PRIMARY KEY)');
    await pool.query('INSERT INTO pipelined VALUES (1)');
  });

  it('go out together and come back in order', async () => {
    const results = await inTransaction(pool, (db) =>
      pipelined(db.query<{ n: number }>('SELECT 1 AS n'), db.query<{ n: number }>('SELECT 2 AS n'), db.query<{ n: number }>('SELECT 3 AS n')),
    );
    expect(results.map(({ rows }) => rows[0].n)).toEqual([1, 2, 3]);
  });

  it('commit nothing when one fails, and the error is that one, not the aborted transaction of those after it', async () => {
    const attempt = inTransaction(pool, (db) =>
      pipelined(db.query('INSERT INTO pipelined VALUES (2)'), db.query('INSERT INTO pipelined VALUES (1)'), db.query('INSERT INTO pipelined VALUES (3)')),
    );
    await expect(attempt).rejects.toMatchObject({ code: '23505' });
    const { rows } = await pool.query<{ id: number }>('SELECT id FROM pipelined ORDER BY id');
    expect(rows.map(({ id }) => id)).toEqual([1]);
  });

  it('have all settled when one has failed, so none goes on with a connection given back', async () => {
    const db = await pool.connect();
    let slowSettled = false;
    try {
      const attempt = pipelined(Promise.reject(new Error('refused before it was sent')), db.query('SELECT pg_sleep(0.2)').then(() => (slowSettled = true)));
      await expect(attempt).rejects.toThrow('refused before it was sent');
      expect(slowSettled).toBe(true);
    } finally {
      db.release();
    }
  });
});

describe('transactAtOnce', () => {
  const { pool } = useTestDatabase();

  beforeAll(async () => {
    await pool.query('CREATE TABLE at_once (id int PRIMARY KEY)');
  });

  it('commits every statement together', async () => {
    await transactAtOnce(pool, [
      { text: 'INSERT INTO at_once VALUES ($1)', values: [1] },
      { text: 'INSERT INTO at_once VALUES ($1)', values: [2] },
    ]);
    expect((await pool.query('SELECT id FROM at_once ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('commits nothing when one fails, throws that failure, and leaves the connection out of any transaction', async () => {
    await expect(
      transactAtOnce(pool, [
        { text: 'INSERT INTO at_once VALUES ($1)', values: [3] },
        { text: 'INSERT INTO at_once VALUES ($1)', values: [1] },
        { text: 'INSERT INTO at_once VALUES ($1)', values: [4] },
      ]),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await pool.query('SELECT id FROM at_once ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    // The pool's connections (one of them the one that failed) take statements outside a transaction again.
    const states = await Promise.all(Array.from({ length: 10 }, () => pool.query<{ now: Date; statement: Date }>('SELECT now(), statement_timestamp() AS statement')));
    for (const { rows } of states) expect(rows[0].now).toEqual(rows[0].statement);
  });

  it('commits nothing when pg cannot send one of them: a value it cannot serialise', async () => {
    await expect(
      transactAtOnce(pool, [
        { text: 'INSERT INTO at_once VALUES ($1)', values: [5] },
        { text: 'INSERT INTO at_once SELECT ($1::jsonb ->> 0)::int', values: [{ position: 6n }] },
        { text: 'INSERT INTO at_once VALUES ($1)', values: [7] },
      ]),
    ).rejects.toThrow(/BigInt/);
    expect((await pool.query('SELECT id FROM at_once WHERE id > 4')).rows).toEqual([]);
  });

  it('runs statements named alike with other texts as the statements they are', async () => {
    await transactAtOnce(pool, [
      { name: 'spec_clash', text: 'INSERT INTO at_once VALUES ($1)', values: [8] },
      { name: 'spec_clash', text: 'INSERT INTO at_once VALUES ($1 + 1)', values: [8] },
    ]);
    expect((await pool.query('SELECT id FROM at_once WHERE id > 7 ORDER BY id')).rows).toEqual([{ id: 8 }, { id: 9 }]);
  });
});
