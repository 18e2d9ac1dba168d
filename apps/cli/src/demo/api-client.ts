import { setTimeout as delay } from 'node:timers/promises';

export type ApiRequest = Readonly<{ token?: string; body?: unknown }>;

/** A client of Tidings' public REST API (API.md), as any program outside it would be. */
export type ApiClient = Readonly<{
  baseUrl: string;
  /** The body of a 1xx-3xx answer; anything else throws an ApiProblem that says what the API said. */
  call(method: string, path: string, request?: ApiRequest): Promise<unknown>;
}>;

/** An error answer of the API (problem+json), as one line: request, status, title, detail, invalid fields. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ApiUnreachable extends Error {
  override readonly name = 'ApiUnreachable';
}

/** A 429 is waited out (its Retry-After, at most a minute) this many times before it counts as an error. */
const RATE_LIMITED_TRIES = 10;

export function apiClient(baseUrl: string): ApiClient {
  const root = baseUrl.replace(/\/+$/, '');
  return { baseUrl: root, call: (method, path, request = {}) => call(root, method, path, request) };
}

async function call(baseUrl: string, method: string, path: string, { token, body }: ApiRequest, tries = 1): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    throw unreachable(baseUrl, error);
  });
  const answer = await bodyOf(response);
  if (response.status === 429 && tries < RATE_LIMITED_TRIES) {
    await delay(Math.min(60, Number(response.headers.get('retry-after')) || 1) * 1_000);
    return call(baseUrl, method, path, { token, body }, tries + 1);
  }
  if (response.status >= 400) throw new ApiProblem(response.status, problemLine(method, path, response.status, answer));
  return answer;
}

async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!/json/.test(response.headers.get('content-type') ?? '')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function problemLine(method: string, path: string, status: number, body: unknown): string {
  const { title, detail, errors } = (typeof body === 'object' && body ? body : { detail: String(body).slice(0, 200) }) as { title?: string; detail?: string; errors?: { path?: string; message?: string }[] };
  const fields = (errors ?? []).map((error) => `${error.path ?? ''}: ${error.message ?? ''}`).join('; ');
  const hint = status === 401 ? ' (tokens are signed with this shell’s JWT_SECRET: is it the one the API runs with?)' : '';
  return `${method} ${path.split('?')[0]} answered ${status}${title ? ` ${title}` : ''}${detail ? `: ${detail}` : ''}${fields ? ` [${fields}]` : ''}${hint}`.replace(/\s+/g, ' ');
}

function unreachable(baseUrl: string, error: unknown): ApiUnreachable {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new ApiUnreachable(`no Tidings API answers at ${baseUrl} (${cause?.code ?? cause?.message ?? String(error)}); start one with \`tidings start\`, or point --api at it`);
}
