import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { startProgress } from '../progress';

/**
 * Sends `rate` requests a second for `seconds`, each on its own fixed schedule (request i at
 * i/rate s): a late answer never delays the next request, so queueing in the server is not
 * hidden. `send` is given the moment its request was due. Returns each request's response
 * time, from that moment too: a generator that falls behind counts against the figures rather
 * than hiding them (coordinated omission).
 *
 * This is what QUALITY.md asks of autocannon's `overallRate`, which does not quite give it:
 * autocannon splits the rate among its connections, and each connection sends its share for
 * the second back to back as soon as the second starts, then waits for the next. Every second
 * thus begins with a burst of the whole second's requests at once; against a bare Fastify
 * `GET /health` on this machine, 200 req/s over 20 connections had a p99 of 23 ms that way
 * and 4 to 17 ms paced (five runs).
 */
export async function atFixedRate(rate: number, seconds: number, label: string, send: (dueAt: number) => Promise<unknown>, unit = 'requests'): Promise<number[]> {
  const total = Math.round(rate * seconds);
  const progress = startProgress(label, total, unit);
  const responseMs: number[] = [];
  const started = performance.now();
  const requests: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const due = started + (index * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await delay(wait);
    requests.push(
      send(due).then(() => {
        responseMs.push(performance.now() - due);
        progress.advance();
      }),
    );
  }
  try {
    await Promise.all(requests);
  } finally {
    progress.stop();
  }
  return responseMs;
}

/**
 * Keep-alive connections of node:http: a load generator much lighter than fetch, which matters
 * when it shares the machine's cores with the server it measures.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** One JSON request, with a bearer token unless anonymous; rejects with the status and body on an answer ≥ 300. */
export function requestJson(baseUrl: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${baseUrl}${path}`, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((response.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path} answered ${response.statusCode}: ${text}`));
        else resolve(JSON.parse(text) as Record<string, unknown>);
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
}
