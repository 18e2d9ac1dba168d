import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appendInventoryWorkload, eventually, foldProducts, newTestNamespace, useTestEventStore } from '@tidings/testing';

const CLI = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');

/** The operator commands, run as an operator runs them: the built CLI in its own process. */
describe('tidings projections and dlq', () => {
  const { store, database, pool } = useTestEventStore();

  beforeAll(async () => {
    const appended = await appendInventoryWorkload(store, { products: 30, events: 3_000 });
    // $all shows the events once every older transaction on the server (other tests') has ended.
    await eventually(async () => expect(await store.readAll({ limit: 10_000 })).toHaveLength(appended), { timeoutMs: 30_000 });
  });

  const tidings = async (...args: string[]) => {
    const env = { ...process.env, DATABASE_URL: database.url, TIDINGS_NAMESPACE: newTestNamespace() };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };

  it('rebuilds a projection from the store and lists it at head', async () => {
    const rebuilt = await tidings('projections', 'rebuild', 'products', '--json');
    expect(rebuilt).toMatchObject({ code: 0 });
    const head = String(await store.headPosition());
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ name: 'products', version: 2, position: head, events: 3_000 });
    // Not a terminal: progress comes as plain lines on stderr, stdout stays JSON.
    expect(rebuilt.stderr).toMatch(/rebuild products: \d+\/\d+ events/);

    const listed = await tidings('projections', 'list', '--json');
    // No projector runs in this namespace (as with a mistyped TIDINGS_NAMESPACE): it says so, and how lag is counted then.
    expect(listed.stderr).toMatch(/^JetStream has no TEST_\w+_EVENTS, or could not count what it holds for its consumers \(TIDINGS_NAMESPACE=test_\w+\): lag is counted from positions, events of other categories included\n$/);
    const projections = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string });
    expect(projections.map((projection) => projection.name)).toEqual(['products', 'orders', 'views', 'feed', 'imports']);
    expect(projections[0]).toEqual({ name: 'products', version: 2, status: 'running', position: head, headPosition: head, lag: '0', deadLetters: 0 });

    const { rows } = await pool.query<{ sku: string; on_hand: number; reserved: number }>('SELECT sku, on_hand, reserved FROM products');
    const expected = await foldProducts(store);
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) expect([row.on_hand, row.reserved]).toEqual([expected.get(row.sku)?.onHand, expected.get(row.sku)?.reserved]);
  });

  it('neither migrates nor reads a database this build’s migrations have not reached: it names what is pending', async () => {
    const { rows } = await pool.query<{ timestamp: string; name: string }>('SELECT timestamp, name FROM tidings_migrations ORDER BY timestamp DESC LIMIT 1');
    const [newest] = rows;
    await pool.query('DELETE FROM tidings_migrations WHERE name = $1', [newest.name]);
    try {
      for (const command of [['projections', 'list'], ['sagas', 'list'], ['dlq', 'list']]) {
        await expect(tidings(...command)).resolves.toEqual({
          code: 1,
          stdout: '',
          stderr: `tidings: the database has not been migrated to this build (${newest.name} pending): run tidings migrate first, as the release's notes say (some migrations want the projectors stopped)\n`,
        });
      }
      expect((await pool.query('SELECT 1 FROM tidings_migrations WHERE name = $1', [newest.name])).rowCount).toBe(0);
    } finally {
      await pool.query('INSERT INTO tidings_migrations (timestamp, name) VALUES ($1, $2)', [newest.timestamp, newest.name]);
    }
    expect(await tidings('sagas', 'list', '--json')).toMatchObject({ code: 0 });
  });

  it('says when NATS does not answer that the lag it shows is counted from positions', async () => {
    const env = { ...process.env, DATABASE_URL: database.url, TIDINGS_NAMESPACE: newTestNamespace(), NATS_URL: 'nats://127.0.0.1:1' };
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'projections', 'list'], { env });
    expect(stdout).toMatch(/^name\s+version\s+status/);
    expect(stderr).toBe('NATS did not answer (CONNECTION_REFUSED): lag is counted from positions, events of other categories included\n');
  });

  it('says what is wrong, with a non-zero exit, for an unknown projection or dead letter', async () => {
    await expect(tidings('projections', 'rebuild', 'nope')).resolves.toMatchObject({
      code: 1,
      stderr: 'tidings: no projection "nope"; known: products, orders, views, feed, imports\n',
    });
    await expect(tidings('dlq', 'replay', '42')).resolves.toMatchObject({ code: 1, stderr: 'tidings: no dead letter 42\n' });
    await expect(tidings('dlq', 'list')).resolves.toMatchObject({ code: 0, stdout: 'no dead letters\n' });
    await expect(tidings('dlq', 'list', '--group', 'projection.product')).resolves.toMatchObject({
      code: 1,
      stderr: 'tidings: no consumer group "projection.product"; known: projection.products, projection.orders, projection.views, projection.feed, projection.imports\n',
    });
    await expect(tidings('dlq', 'list', '--group', 'projection.products')).resolves.toMatchObject({ code: 0, stdout: 'no dead letters\n' });
  });
});

describe('tidings output', () => {
  it('ends quietly, with exit code 0, when its reader stops early (| head -1)', async () => {
    // More lines than a pipe holds, printed as a command prints them, to a reader that leaves after the first chunk.
    const output = join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'output.js');
    const printing = spawn(process.execPath, ['-e', `const { print } = require(${JSON.stringify(output)}); for (let i = 0; i < 100000; i++) print('line ' + i);`]);
    let stderr = '';
    printing.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const first = await new Promise<string>((resolve) => printing.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    printing.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => printing.on('exit', resolve));
    expect(first).toMatch(/^line 0\n/);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('fails, saying so, when its output cannot be written (a full disk)', async () => {
    const written = await promisify(execFile)('sh', ['-c', `"${process.execPath}" "${CLI}" token --sub someone > /dev/full`]).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(written).toEqual({ code: 1, stderr: 'tidings: cannot write the output: ENOSPC: no space left on device, write\n' });
  });
});

describe('tidings token', () => {
  const token = (...args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, 'token', ...args]).then(
      ({ stdout }) => ({ code: 0, claims: JSON.parse(Buffer.from(stdout.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, claims: undefined, stderr: error.stderr }),
    );

  it('signs the roles asked for, each once, and refuses none or an unknown one', async () => {
    expect(await token('--sub', 'ops', '--roles', 'admin, admin,customer')).toMatchObject({ code: 0, claims: { sub: 'ops', roles: ['admin', 'customer'] } });
    expect(await token('--sub', 'someone')).toMatchObject({ code: 0, claims: { roles: ['customer'] } });
    expect(await token('--sub', 'ops', '--roles', ' , ')).toMatchObject({ code: 1, stderr: expect.stringMatching(/at least one role/) });
    // Commander's refusals are one line too, with its suggestion and where the usage is.
    expect(await token('--sub', 'ops', '--rolez', 'admin')).toEqual({ code: 1, claims: undefined, stderr: "tidings: unknown option '--rolez' (Did you mean --roles?) (add --help for the usage)\n" });
    expect(await token()).toEqual({ code: 1, claims: undefined, stderr: "tidings: required option '--sub <id>' not specified (add --help for the usage)\n" });
    expect(await token('--sub', 'ops', '--roles', 'boss')).toMatchObject({ code: 1, stderr: 'tidings: unknown roles: boss; roles are customer, admin\n' });
  });

  it('takes a lifetime in whole seconds as digits only', async () => {
    const lifetime = async (ttl: string) => {
      const { code, claims, stderr } = await token('--sub', 'ops', '--ttl', ttl);
      return code === 0 ? Number(claims?.exp) - Number(claims?.iat) : stderr;
    };
    expect(await lifetime('60')).toBe(60);
    for (const ttl of ['1e3', '0x10', ' 60', '1.5', '0', '31536001']) expect(await lifetime(ttl)).toMatch(/whole seconds, 1 to 31536000/);
  });
});
