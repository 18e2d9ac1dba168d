import { createHash, randomUUID } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { Authenticated } from '../auth/access';
import { problems, problemType, type ProblemError } from './problem';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** A request whose claim has not been renewed for this long was cut off (a crash): a retry takes it over. */
const ABANDONED_AFTER = '30 seconds';
/** How often a request still running renews its claim: one that takes longer than ABANDONED_AFTER (a large upload) is not taken over. */
const RENEW_CLAIM_EVERY_MS = 5_000;
/** What a replay answers besides the body. */
const REPLAYED_HEADERS = ['x-position', 'etag', 'location', 'content-type'] as const;

/** A request under an Idempotency-Key: its caller and key, the command id it was given, and when the request that claimed the key arrived. */
export type IdempotentRequest = {
  idempotency?: Readonly<{ caller: string; key: string; commandId: string; receivedAt: Date; fingerprintOfContent?: () => string | undefined }>;
};
type Request = FastifyRequest & Authenticated & IdempotentRequest;

type ClaimedKey = { command_id: string; received_at: Date };

type StoredRequest = { fingerprint: string; command_id: string; status: number | null; headers: Record<string, string> | null; body: string | null };

/** A 409 `event-id-conflict`: events under the request's command id are stored already, with other content. */
function clashedWithStoredEvents(reply: FastifyReply, payload: unknown): boolean {
  if (reply.statusCode !== 409 || typeof payload !== 'string') return false;
  try {
    return (JSON.parse(payload) as { type?: unknown }).type === problemType('event-id-conflict');
  } catch {
    return false;
  }
}

/**
 * `Idempotency-Key` on POST (API.md), stored in PostgreSQL for 24 h. The first request claims
 * the key; its successful response is stored and replayed to every retry with the same body;
 * another body under the key is 422, a retry while the first still runs 409 (a running request
 * renews its claim). A request cut off by a crash is taken over once its claim has not been
 * renewed for 30 s, under the same command id and time (the first request's), which the command
 * path recognises: its events are not appended twice.
 */
export function idempotencyHooks(pool: Pool, sendProblem: (request: FastifyRequest, reply: FastifyReply, error: ProblemError) => void) {
  async function preHandler(request: Request, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || request.authFailure) return undefined;
    if (typeof key !== 'string' || !KEY.test(key)) {
      sendProblem(request, reply, problems.invalid('Idempotency-Key must be 1-255 visible ASCII characters'));
      return reply;
    }
    const caller = request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`;
    const described = `${request.method} ${request.url}\n${bodyFingerprint(request)}`;
    const fingerprint = sha256(described);
    const streamed = isStreamed(request.body);
    /** The request goes on under the key; a streamed body's content is fingerprinted as its handler reads it. */
    const proceed = (row: ClaimedKey): undefined => {
      renewWhileRunning(caller, key, reply);
      request.idempotency = {
        caller,
        key,
        commandId: row.command_id,
        receivedAt: row.received_at,
        ...(streamed ? { fingerprintOfContent: fingerprintAsRead(request, described) } : {}),
      };
      return undefined;
    };
    const claimed = await pool.query<ClaimedKey>({
      name: 'tidings_claim_idempotency_key',
      text: `INSERT INTO idempotency_keys (caller, key, fingerprint, command_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (caller, key) DO UPDATE SET fingerprint = excluded.fingerprint, command_id = excluded.command_id,
               status = NULL, headers = NULL, body = NULL, created_at = now(), received_at = now()
             WHERE idempotency_keys.created_at < now() - interval '24 hours'
             RETURNING command_id, received_at`,
      values: [caller, key, fingerprint, randomUUID()],
    });
    if (claimed.rows[0]) return proceed(claimed.rows[0]);
    const { rows } = await pool.query<StoredRequest>('SELECT fingerprint, command_id, status, headers, body FROM idempotency_keys WHERE caller = $1 AND key = $2', [caller, key]);
    const stored = rows[0];
    // An answered streamed body is known by its content too (see onSend): this one is read to compare. Answers kept before that are known by their headers.
    const sameContent = async () => streamed && stored.status !== null && stored.fingerprint === (await fingerprintOfWhole(request, described));
    if (stored && stored.fingerprint !== fingerprint && !(await sameContent())) {
      sendProblem(request, reply, problems.unprocessable('idempotency-key-reused', 'this Idempotency-Key was used with a different request'));
      return reply;
    }
    if (stored && stored.status !== null) {
      void reply
        .code(stored.status)
        .headers({ ...(stored.headers ?? {}), 'idempotent-replayed': 'true' })
        // Answers stored before their type was kept were all JSON.
        .type(stored.headers?.['content-type'] ?? 'application/json')
        .send(stored.body ?? '');
      return reply;
    }
    const takenOver = await pool.query<ClaimedKey>(
      `UPDATE idempotency_keys SET created_at = now()
       WHERE caller = $1 AND key = $2 AND status IS NULL AND created_at < now() - interval '${ABANDONED_AFTER}'
       RETURNING command_id, received_at`,
      [caller, key],
    );
    if (!takenOver.rows[0]) {
      sendProblem(request, reply, problems.conflict('request-in-progress', 'a request with this Idempotency-Key is still being processed'));
      return reply;
    }
    return proceed(takenOver.rows[0]);
  }

  /**
   * Renews the claim until the request's answer has gone (or its connection closed): a retry
   * meanwhile is told the request is still running, however long it takes, rather than taking
   * over a request that is not dead — two uploads of one job, or a different file merged into it.
   */
  function renewWhileRunning(caller: string, key: string, reply: FastifyReply): void {
    // A client gone while the key was being claimed: its 'close' has been and gone, and nothing is renewed.
    if (reply.raw.destroyed || reply.raw.writableFinished) return;
    const renewing = setInterval(() => {
      // Stops by itself once the claim is answered or let go, should the close ever go unheard.
      pool
        .query('UPDATE idempotency_keys SET created_at = now() WHERE caller = $1 AND key = $2 AND status IS NULL', [caller, key])
        .then(({ rowCount }) => rowCount === 0 && clearInterval(renewing), () => undefined);
    }, RENEW_CLAIM_EVERY_MS).unref();
    reply.raw.once('close', () => clearInterval(renewing));
  }

  async function onSend(request: Request, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const claim = request.idempotency;
    if (!claim) return payload;
    if ((reply.statusCode >= 200 && reply.statusCode < 300) || clashedWithStoredEvents(reply, payload)) {
      const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((name) => (reply.hasHeader(name) ? [[name, String(reply.getHeader(name))]] : [])));
      await pool.query('UPDATE idempotency_keys SET status = $3, headers = $4, body = $5, fingerprint = coalesce($6, fingerprint) WHERE caller = $1 AND key = $2', [
        claim.caller,
        claim.key,
        reply.statusCode,
        headers,
        typeof payload === 'string' ? payload : '',
        claim.fingerprintOfContent?.() ?? null,
      ]);
    } else {
      // Refused requests changed nothing: the key is free for a corrected request. (A clash with
      // stored events is kept and replayed instead: events of this command id are stored, and a
      // retry under a new key's command id would record them again.)
      await pool.query('DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status IS NULL', [claim.caller, claim.key]);
    }
    return payload;
  }

  return { preHandler, onSend };
}

const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('base64url');

const isStreamed = (body: unknown): body is Readable => typeof (body as { pipe?: unknown } | undefined)?.pipe === 'function';

/**
 * What identifies a request's body before it is read. A streamed body (a CSV upload) is read
 * once, by its handler, after this: here it is known by its type and channel, and by its
 * content once its handler has read it (fingerprintAsRead) — not by its length, which a client
 * that retries with chunked encoding does not send.
 */
const bodyFingerprint = (request: FastifyRequest): string => {
  if (!isStreamed(request.body)) return canonicalJson(request.body);
  const { 'content-type': type, 'x-channel-id': channel } = request.headers;
  return `streamed ${String(type)} ${String(channel)}`;
};

/** The request's fingerprint with its content's digest, once its handler has read the whole body (undefined until then). */
function fingerprintAsRead(request: FastifyRequest, described: string): () => string | undefined {
  const hash = createHash('sha256');
  let read = false;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      read = true;
      done();
    },
  });
  pipeline(request.body as Readable, hashing, () => undefined);
  request.body = hashing;
  return () => (read ? sha256(`${described}\n${hash.digest('base64url')}`) : undefined);
}

/**
 * The same, for a retry whose answer is kept: its body is read here only to be compared (read
 * whole, as a refused upload's rest is, so the client gets to read the answer).
 */
async function fingerprintOfWhole(request: FastifyRequest, described: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of request.body as Readable) hash.update(chunk as Buffer);
  return sha256(`${described}\n${hash.digest('base64url')}`);
}

/** JSON with sorted keys: the same body in another key order is the same request. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value ?? null, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
