const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Charsets whose bytes are UTF-8: its names, and US-ASCII, a subset. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * A JSON body's text. JSON is UTF-8 (RFC 8259): another declared charset is 415, bytes that are
 * not UTF-8 are 400 (read leniently, they would be stored as U+FFFD). A byte order mark is dropped.
 */
export function utf8Body(contentType: string | undefined, body: Buffer): string {
  requireUtf8(contentType, 'bodies');
  try {
    return UTF8.decode(body);
  } catch {
    throw refusal(400, 'the body is not valid UTF-8');
  }
}

/** A body declared in another charset than UTF-8 is 415 (`what`: what the API takes in UTF-8 only). */
export function requireUtf8(contentType: string | undefined, what: string): void {
  const charset = /(?:^|;)\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (charset !== undefined && !UTF8_CHARSETS.has(charset.toLowerCase())) throw refusal(415, `${what} are UTF-8, not ${charset}`);
}

/** As Fastify's own refusals are: an error with a statusCode, answered as problem+json. */
export const refusal = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
