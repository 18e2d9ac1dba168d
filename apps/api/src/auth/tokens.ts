import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

export const USER_ROLES = ['customer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Who is calling: the token's `sub` and `roles`. */
export type Principal = Readonly<{ userId: string; roles: readonly UserRole[] }>;

export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
}

const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
let lastKey: Readonly<{ secret: string; key: KeyObject }> | undefined;
/** The secret as a key object, made once: importing raw bytes on every verification costs more than the HMAC itself. */
const key = (secret: string): KeyObject => {
  if (lastKey?.secret !== secret) lastKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return lastKey.key;
};

export async function issueToken(secret: string, principal: Principal, ttlSeconds: number): Promise<string> {
  if (!USER_ID.test(principal.userId)) throw new InvalidToken('a user id is 1-64 characters of [A-Za-z0-9_-]');
  const unknown = principal.roles.filter((role) => !USER_ROLES.includes(role));
  if (unknown.length) throw new InvalidToken(`unknown roles: ${unknown.join(', ')}; roles are ${USER_ROLES.join(', ')}`);
  return new SignJWT({ roles: [...principal.roles] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key(secret));
}

/** Tokens verified recently, until they expire: a client sends the same token with every request. */
const VERIFIED_TOKENS = 10_000;
const verified = new Map<string, Readonly<{ secret: string; principal: Principal; expiresAt: number }>>();

/** HS256 only, `exp` required; throws InvalidToken with the reason. */
export async function verifyToken(secret: string, token: string): Promise<Principal> {
  const known = verified.get(token);
  if (known && known.secret === secret && known.expiresAt > Date.now()) return known.principal;
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is UserRole => USER_ROLES.includes(role as UserRole)) : [];
    // jose checks the claim's presence, not its type: a number or a list would be taken for a user id.
    if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) throw new InvalidToken('the token has no valid subject');
    const principal = { userId: payload.sub, roles };
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
    verified.set(token, { secret, principal, expiresAt: (payload.exp as number) * 1000 });
    return principal;
  } catch (error) {
    if (error instanceof InvalidToken) throw error;
    if (error instanceof errors.JWTExpired) throw new InvalidToken('the token has expired');
    throw new InvalidToken('the token is not valid');
  }
}
