import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@tidings/event-store';
import { IMPORT_WORK_QUEUE } from '@tidings/imports';
import { connectNats, ensureWorkQueue, eventTopology, workQueueOf } from '@tidings/messaging';
import { eventually, newTestNamespace, testNatsUrl } from '@tidings/testing';
import { useTidingsApi } from './api-harness';
import { killHard, type TidingsProcess } from './tidings-process';

const ROWS = 100_000;
const MAX_BYTES = 8 * 1024 * 1024;
const HEADER = 'sku,name,priceCents,quantity';

type Product = Readonly<{ name: string; priceCents: number; quantity: number }>;
type Progress = Readonly<{ channel: string; type: string; data: { jobId: string; status: string; chunksDone: number; chunksTotal: number; imported: number; failed: number } }>;
type ImportJob = Readonly<{ jobId: string; status: string; totalRows: number; chunksTotal: number; chunksDone: number; imported: number; failed: number; errors: { line: number; message: string }[] }>;

/**
 * A file of `rows` data rows, skus prefixed by `run`; every 1,777th row is bad, in one of five
 * ways (a missing name, a price in dollars, a negative quantity, a sku repeated from 1,000
 * lines earlier, a short row). Returns the file, the good rows by sku, and the errors expected.
 */
function importFile(run: string, rows: number) {
  const lines = [HEADER];
  const good = new Map<string, Product>();
  const errors: { line: number; message: string }[] = [];
  for (let index = 0; index < rows; index++) {
    const line = index + 2;
    const sku = `${run}-${index}`;
    const bad = index % 1_777 === 1_005 ? Math.floor(index / 1_777) % 5 : -1;
    const refuse = (row: string, message: string) => (lines.push(row), errors.push({ line, message }));
    if (bad === 0) refuse(`${sku},,100,1`, 'name is missing');
    else if (bad === 1) refuse(`${sku},Item,12.50,1`, 'priceCents must be a whole number, not "12.50"');
    else if (bad === 2) refuse(`${sku},Item,100,-4`, 'quantity must not be negative');
    else if (bad === 3) refuse(`${run}-${index - 1_000},Again,1,1`, `duplicate sku ${run}-${index - 1_000}: already on line ${line - 1_000}`);
    else if (bad === 4) refuse(`${sku},Item`, 'expected 4 fields (sku,name,priceCents,quantity), found 2');
    else {
      const product = { name: `Item ${index}`, priceCents: 100 + (index % 900), quantity: index % 7 };
      good.set(sku, product);
      lines.push(`${sku},${product.name},${product.priceCents},${product.quantity}`);
    }
  }
  return { csv: `${lines.join('\n')}\n`, good, errors };
}

/** A WebSocket client of `/ws` that records what it hears. */
async function liveClient(url: string) {
  const socket = new WebSocket(url);
  const received: Progress[] = [];
  socket.on('message', (raw) => received.push(JSON.parse(String(raw)) as Progress));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received, subscribe: (channel: string) => socket.send(JSON.stringify({ type: 'subscribe', channel })) };
}

/**
 * CSV product imports end to end: the API and relay and projector in one process, chunk
 * workers in two sagas processes, one of them killed -9 mid-import and started again.
 */
describe('imports: CSV products in chunks on a work queue', () => {
  const workers: TidingsProcess[] = [];
  const namespace = newTestNamespace();
  const api = useTidingsApi(
    { TIDINGS_NAMESPACE: namespace, TIDINGS_LEASE_TTL_MS: '2000', TIDINGS_IMPORT_ACK_WAIT_MS: '3000', TIDINGS_IMPORT_MAX_BYTES: String(MAX_BYTES), TIDINGS_IMPORT_WORKERS: '3' },
    'api,relay,projector',
  );
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    workers.push(api.start('sagas'), api.start('sagas'));
    [admin, customer] = await api.tokens([
      { userId: 'imports-admin', roles: ['admin'] },
      { userId: 'imports-customer', roles: ['customer'] },
    ]);
  });

  const upload = (csv: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, token = admin) =>
    fetch(`${api.baseUrl}/imports/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', ...headers },
      body: csv,
      ...(typeof csv === 'string' ? {} : { duplex: 'half' }),
    } as RequestInit);
  const importJob = async (jobId: string, position: string): Promise<ImportJob> => {
    const response = await fetch(`${api.baseUrl}/imports/${jobId}?minPosition=${position}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as ImportJob;
  };
  const count = async (sql: string, values: unknown[] = []) => Number((await api.pool.query<{ count: string }>(sql, values)).rows[0].count);

  it('imports 100,000 rows once each while a chunk worker is killed -9, reports every bad row once and completes once', async () => {
    const run = `imp${Date.now().toString(36)}`;
    const { csv, good, errors } = importFile(run, ROWS);
    const live = await liveClient(`${api.baseUrl.replace('http', 'ws')}/ws?token=${admin}`);
    live.subscribe(`import:${run}`);
    await eventually(() => expect(live.received).toContainEqual(expect.objectContaining({ type: 'subscribed' })));

    const answer = await upload(csv, { 'x-channel-id': run });
    const started = (await answer.json()) as { jobId: string; channelId: string; position: string };
    expect(answer.status).toBe(202);
    expect(started).toEqual({ jobId: expect.stringMatching(/^[0-9a-f-]{36}$/), channelId: `import:${run}`, position: expect.any(String) });
    const progress = () => live.received.filter((message) => message.type === 'progress' || message.type === 'completed');

    await eventually(() => expect(progress().length).toBeGreaterThanOrEqual(15), { timeoutMs: 60_000, intervalMs: 50 });
    await killHard(workers[0]);
    workers[0] = api.start('sagas');

    await eventually(() => expect(progress().at(-1)?.type).toBe('completed'), { timeoutMs: 180_000, intervalMs: 200 });
    live.socket.close();
    const heard = progress();
    expect(heard.every((message) => message.channel === `import:${run}` && message.data.jobId === started.jobId)).toBe(true);
    // Each chunk done once, k of n in order, then the end: nothing repeated, nothing going back.
    const done = heard.filter((message) => message.type === 'progress').map((message) => message.data.chunksDone);
    expect(done.every((chunks, index) => index === 0 || chunks > done[index - 1])).toBe(true);
    expect(done.at(-1)).toBe(100);
    expect(heard.filter((message) => message.type === 'completed')).toHaveLength(1);
    expect(heard.at(-1)?.data).toMatchObject({ status: 'completed', chunksDone: 100, chunksTotal: 100, imported: good.size, failed: errors.length });

    const job = await importJob(started.jobId, started.position);
    expect(job).toEqual({ jobId: started.jobId, status: 'completed', totalRows: ROWS, chunksTotal: 100, chunksDone: 100, imported: good.size, failed: errors.length, errors });
    expect(await count(`SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'ImportCompleted'`, [`import-${started.jobId}`])).toBe(1);
    expect(await count(`SELECT count(*) FROM events WHERE stream_id = $1 AND type = 'ImportChunkCompleted'`, [`import-${started.jobId}`])).toBe(100);
    const withStock = [...good.values()].filter((product) => product.quantity > 0).length;
    expect(await count(`SELECT count(*) FROM events WHERE stream_id LIKE $1 AND type = 'ProductRegistered'`, [`product-${run}-%`])).toBe(good.size);
    expect(await count(`SELECT count(*) FROM events WHERE stream_id LIKE $1 AND type = 'StockReceived'`, [`product-${run}-%`])).toBe(withStock);
    expect(await count('SELECT count(*) FROM import_rows WHERE job_id = $1', [started.jobId])).toBe(0);

    // The products read model, once it has applied everything the store holds.
    const head = (await api.pool.query<{ head: string }>('SELECT max(position) AS head FROM events')).rows[0].head;
    await eventually(
      async () => expect((await fetch(`${api.baseUrl}/products/${run}-0?minPosition=${head}`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200),
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const { rows } = await api.pool.query<{ sku: string; name: string; price_cents: string; on_hand: number }>('SELECT sku, name, price_cents, on_hand FROM products WHERE sku LIKE $1', [`${run}-%`]);
    expect(rows).toHaveLength(good.size);
    const wrong = rows.filter((row) => {
      const product = good.get(row.sku);
      return !product || product.name !== row.name || product.priceCents !== Number(row.price_cents) || product.quantity !== row.on_hand;
    });
    expect(wrong).toEqual([]);

    const graphql = await fetch(`${api.baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ importJob(jobId: "${started.jobId}") { jobId status totalRows chunksTotal chunksDone imported failed errors { line message } } }` }),
    });
    expect(((await graphql.json()) as { data: { importJob: ImportJob } }).data.importJob).toEqual(job);
  }, 300_000);

  it('refuses a file with another header, one that is not CSV, one over the size limit and one of another type, storing nothing', async () => {
    const before = { events: await api.eventCount(), rows: await count('SELECT count(*) FROM import_rows') };
    const big = `${HEADER}\n${'too-big,Padding padding padding,100,1\n'.repeat(MAX_BYTES / 32)}`;
    const streamed = (text: string) => new Blob([text]).stream();
    const refusals: [Response, number, RegExp][] = [
      [await upload('sku,name,price,quantity\nmug,Mug,100,1\n'), 400, /first line must be sku,name,priceCents,quantity/],
      [await upload(`${HEADER}\nmug,Mug,100,1\n${'a,b,c,d\n'.repeat(2_000)}x,"unclosed,1,1\n`), 400, /not valid CSV/],
      [await upload('\u0089PNG\r\n\u001a\n\u0000\u0000\u0000\rIHDR'), 400, /first line|NUL|not valid CSV/],
      [await upload(''), 400, /empty/],
      [await upload(big), 413, /at most 8388608 bytes/],
      [await upload(streamed(big)), 413, /at most 8388608 bytes/],
      [await upload('{"sku":"mug"}', { 'content-type': 'application/json' }), 415, /text\/csv/],
      [await upload(new Blob([Buffer.from(`${HEADER}\nmug,Caf`), Buffer.from([0xe9]), Buffer.from(',100,1\n')]).stream()), 400, /not UTF-8 text/],
      [await upload(`${HEADER}\nmug,Mug,100,1\n`, { 'content-type': 'text/csv; charset=iso-8859-1' }), 415, /CSV files are UTF-8, not iso-8859-1/],
      [await upload(`${HEADER}\nmug,Mug,100,1\n`, { 'x-channel-id': 'not a channel' }), 400, /X-Channel-Id/],
    ];
    for (const [response, status, detail] of refusals) {
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(await response.json())).toMatch(detail);
    }
    expect((await upload(`${HEADER}\nmug,Mug,100,1\n`, {}, customer)).status).toBe(403);
    expect((await fetch(`${api.baseUrl}/imports/products`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: `${HEADER}\n` })).status).toBe(401);
    expect({ events: await api.eventCount(), rows: await count('SELECT count(*) FROM import_rows') }).toEqual(before);
    expect((await fetch(`${api.baseUrl}/imports/01a1fff8-0000-7000-8000-000000000000`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);
    expect((await fetch(`${api.baseUrl}/imports/not-a-job`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(400);
  });

  it('knows an upload under an Idempotency-Key by its content: the same file is replayed, another of the same length is 422', async () => {
    const key = `upload-${Date.now()}`;
    const file = (sku: string, quantity: number) => `${HEADER}\n${sku},Lamp,100,${quantity}\n`;
    const first = await upload(file('idem-aa', 1), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const { jobId } = (await first.json()) as { jobId: string };

    const again = await upload(file('idem-aa', 1), { 'idempotency-key': key });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { jobId: string }).jobId).toBe(jobId);
    // The same file sent again with chunked encoding (no Content-Length) is the same request.
    const chunked = await upload(new Blob([file('idem-aa', 1)]).stream(), { 'idempotency-key': key });
    expect(chunked.status).toBe(202);
    expect(chunked.headers.get('idempotent-replayed')).toBe('true');
    expect(((await chunked.json()) as { jobId: string }).jobId).toBe(jobId);

    const other = await upload(file('idem-bb', 9), { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(((await other.json()) as { type: string }).type).toMatch(/idempotency-key-reused$/);
    expect(await count("SELECT count(*) FROM import_rows WHERE sku = 'idem-bb'")).toBe(0);
  });

  it('tells a retry that an upload still streaming in after 30 s is running, rather than letting it take the upload over', async () => {
    const key = `slow-upload-${Date.now()}`;
    const encoded = (text: string) => new TextEncoder().encode(text);
    let sendTheRest!: () => void;
    const slowly = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoded(`${HEADER}\nslow-1,Lamp,100,1\n`));
        sendTheRest = () => {
          controller.enqueue(encoded('slow-2,Lamp,100,2\n'));
          controller.close();
        };
      },
    });
    const first = upload(slowly, { 'idempotency-key': key });
    const claim = async () => (await api.pool.query<{ renewed: boolean }>("SELECT created_at > now() - interval '10 seconds' AS renewed FROM idempotency_keys WHERE key = $1", [key])).rows;
    await eventually(async () => expect(await claim()).toHaveLength(1));
    // As if it had been streaming for more than 30 s: the request, still running, renews its claim.
    await api.pool.query("UPDATE idempotency_keys SET created_at = now() - interval '31 seconds' WHERE key = $1", [key]);
    await eventually(async () => expect(await claim()).toEqual([{ renewed: true }]), { timeoutMs: 15_000, intervalMs: 200 });

    // Another file under the key, streamed as the first (so nothing tells them apart before it is read), is not merged into the running upload, nor does it take it over.
    const another = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoded(`${HEADER}\nslow-9,Other,100,9\n`));
        controller.close();
      },
    });
    const retry = await upload(another, { 'idempotency-key': key });
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as { type: string }).type).toMatch(/request-in-progress$/);

    sendTheRest();
    const answered = await first;
    expect(answered.status).toBe(202);
    const { jobId, position } = (await answered.json()) as { jobId: string; position: string };
    await eventually(async () => expect(await importJob(jobId, position)).toMatchObject({ status: 'completed', totalRows: 2, imported: 2, failed: 0 }), { timeoutMs: 30_000, intervalMs: 200 });
    expect(await count("SELECT count(*) FROM import_rows WHERE sku = 'slow-9'")).toBe(0);
  });

  it('streams an import’s progress to an importProgress subscription over graphql-ws, for admins only', async () => {
    const graphqlUrl = `${api.baseUrl.replace('http', 'ws')}/graphql`;
    const client = (token: string) => createClient({ url: graphqlUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${token}` } });
    const { csv } = importFile(`gql${Date.now().toString(36)}`, 2_500);
    const ops = client(admin);
    const alice = client(customer);
    try {
      const refused = await new Promise<unknown>((resolve) => {
        alice.subscribe({ query: 'subscription { importProgress(jobId: "any") { type } }' }, { next: resolve, error: resolve, complete: () => resolve(undefined) });
      });
      expect(JSON.stringify(refused)).toMatch(/403|admin/);

      // The job id is known only once the upload is answered: the subscription listens on the channel the upload names.
      const channel = `gql-${Date.now().toString(36)}`;
      const heard: { jobId: string; type: string; chunksDone: number }[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        ops.subscribe<{ importProgress: { jobId: string; type: string; chunksDone: number } }>(
          { query: `subscription { importProgress(jobId: "${channel}") { jobId type status chunksDone chunksTotal imported failed } }` },
          {
            next: (result) => {
              const update = result.data?.importProgress;
              if (update) heard.push(update);
              if (update?.type === 'completed') resolve();
            },
            error: reject,
            complete: () => resolve(),
          },
        );
      });
      const answer = await upload(csv, { 'x-channel-id': channel });
      const { jobId, position } = (await answer.json()) as { jobId: string; position: string };
      await ended;
      expect(heard.at(-1)).toMatchObject({ jobId, type: 'completed', chunksDone: 3 });
      expect((await importJob(jobId, position)).status).toBe('completed');
    } finally {
      await Promise.all([ops.dispose(), alice.dispose()]);
    }
  });

  /** As when the sagas' `saga.imports` trigger has taken in every event up to `position`: it will not queue those jobs' chunks again. */
  const triggerTakenIn = (position: string) =>
    api.pool.query(
      `INSERT INTO checkpoints (consumer_group, partition, position) SELECT 'saga.imports', partition, $1 FROM generate_series(0, 3) AS partition
       ON CONFLICT (consumer_group, partition) DO UPDATE SET position = greatest(checkpoints.position, excluded.position)`,
      [position],
    );

  /** A job of 1,500 staged rows in 2 chunks, started in the store as the API starts one, but with no chunk published; its start's position. */
  const startUnpublishedJob = async (jobId: string, run: string): Promise<string> => {
    const rows = Array.from({ length: 1_500 }, (_, index) => ({ line: index + 2, fields: [`${run}-${index}`, 'Item', '100', '2'] }));
    await api.pool.query(
      `INSERT INTO import_rows (job_id, chunk, line, sku, fields)
       SELECT $1, (line - 2) / 1000, line, fields->>0, fields FROM unnest($2::int[], $3::jsonb[]) AS staged(line, fields)`,
      [jobId, rows.map((row) => row.line), rows.map((row) => JSON.stringify(row.fields))],
    );
    const store = new PostgresEventStore({ connectionString: api.database.url });
    try {
      const { position } = await store.append(
        `import-${jobId}`,
        [{ type: 'ImportStarted', data: { jobId, channelId: `import:${jobId}`, totalRows: 1_500, chunksTotal: 2 }, eventId: randomUUID(), metadata: { correlationId: jobId, causationId: jobId, actor: 'imports-admin', schemaVersion: 1 } }],
        { expectedVersion: 'no_stream' },
      );
      return position.toString();
    } finally {
      await store.close();
    }
  };

  it('runs a job whose chunks were never published (its API process died after ImportStarted): the sagas queue them from the store', async () => {
    const jobId = randomUUID();
    const position = await startUnpublishedJob(jobId, `orphan${Date.now().toString(36)}`);
    await eventually(async () => expect(await importJob(jobId, position)).toMatchObject({ status: 'completed', imported: 1_500, failed: 0 }), { timeoutMs: 60_000, intervalMs: 200 });
  });

  it('runs a job whose queued chunks were lost with the work queue: a chunk worker that meets a new queue queues the running jobs again', async () => {
    // No chunk worker runs while the job starts, so its chunks could only have been in the queue.
    await Promise.all(workers.splice(0).map(killHard));
    const jobId = randomUUID();
    const position = await startUnpublishedJob(jobId, `lostq${Date.now().toString(36)}`);
    await eventually(async () => expect(await importJob(jobId, position)).toMatchObject({ status: 'running', chunksDone: 0 }), { timeoutMs: 10_000, intervalMs: 100 });
    // As when the sagas had queued its chunks and NATS then lost its store directory: their trigger has taken the start
    // in (it will not queue them again), and the queue's stream is gone.
    await triggerTakenIn(position);
    const nats = await connectNats({ natsUrl: testNatsUrl() }, 'imports-e2e');
    try {
      const queue = workQueueOf(eventTopology(namespace, 4), IMPORT_WORK_QUEUE, 3_000);
      const jsm = await nats.jetstreamManager();
      // The killed workers had made it, or were about to.
      await ensureWorkQueue(jsm, queue);
      expect(await jsm.streams.delete(queue.stream)).toBe(true);
    } finally {
      await nats.close();
    }
    workers.push(api.start('sagas'));
    await eventually(async () => expect(await importJob(jobId, position)).toMatchObject({ status: 'completed', imported: 1_500, failed: 0 }), { timeoutMs: 60_000, intervalMs: 200 });
  });
  it('runs a job whose queued chunks were lost before its projector showed it running: the requeue waits for the read model', async () => {
    await Promise.all(workers.splice(0).map(killHard));
    // The import jobs projector cannot write until this transaction ends: it is behind, as while NATS recovers.
    const projectorHeldBack = await api.pool.connect();
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      await projectorHeldBack.query('ROLLBACK');
      projectorHeldBack.release();
    };
    const nats = await connectNats({ natsUrl: testNatsUrl() }, 'imports-e2e');
    try {
      await projectorHeldBack.query('BEGIN');
      await projectorHeldBack.query('LOCK TABLE import_jobs IN SHARE MODE');
      const jobId = randomUUID();
      const position = await startUnpublishedJob(jobId, `lateq${Date.now().toString(36)}`);
      await triggerTakenIn(position);
      const queue = workQueueOf(eventTopology(namespace, 4), IMPORT_WORK_QUEUE, 3_000);
      const jsm = await nats.jetstreamManager();
      await ensureWorkQueue(jsm, queue);
      expect(await jsm.streams.delete(queue.stream)).toBe(true);
      workers.push(api.start('sagas'));
      // The new process has met the new queue and pulls from it, while the read model shows no such job yet.
      await eventually(async () => expect((await jsm.consumers.info(queue.stream, queue.consumer)).num_waiting).toBeGreaterThan(0), { timeoutMs: 30_000, intervalMs: 100 });
      expect(await count('SELECT count(*) FROM import_jobs WHERE job_id = $1', [jobId])).toBe(0);
      await release();
      await eventually(async () => expect(await importJob(jobId, position)).toMatchObject({ status: 'completed', imported: 1_500, failed: 0 }), { timeoutMs: 60_000, intervalMs: 200 });
    } finally {
      await release();
      await nats.close();
    }
  });
});
