import {
  createParamDecorator,
  Inject,
  Injectable,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { problems } from '../http/problem';
import { InvalidToken, verifyToken, type Principal, type UserRole } from './tokens';

/** Who may call a route: anyone, any signed-in user, or a role. Routes without it need a signed-in user. */
export type Access = 'public' | 'authenticated' | UserRole;
const ACCESS = 'tidings:access';
export const Allow = (access: Access) => SetMetadata(ACCESS, access);

export type Authenticated = { principal?: Principal; authFailure?: string };
type AuthenticatedRequest = FastifyRequest & Authenticated;

/** What a bearer `Authorization` value says: a caller, a reason to refuse, or nobody. */
export async function authenticationOf(secret: string, header: string | undefined): Promise<Authenticated> {
  if (header === undefined) return {};
  const token = /^Bearer (.+)$/.exec(header)?.[1]?.trim();
  if (!token) return { authFailure: 'the Authorization header must be "Bearer <token>"' };
  try {
    return { principal: await verifyToken(secret, token) };
  } catch (error) {
    return { authFailure: error instanceof InvalidToken ? error.message : 'the token is not valid' };
  }
}

/**
 * Reads the bearer token once per request (a Fastify onRequest hook, before rate limiting, which
 * counts per user): a valid one sets `principal`, an invalid one `authFailure` — refused by the
 * guard, even on public routes, rather than treated as anonymous.
 */
export const authenticate = (secret: string) => async (request: FastifyRequest) => {
  Object.assign(request, await authenticationOf(secret, request.headers.authorization));
};

/** The caller if `access` admits them (undefined on public routes without one); 401 or 403 otherwise. */
export function admit(who: Authenticated, access: Access): Principal | undefined {
  if (who.authFailure) throw problems.unauthorized(who.authFailure);
  if (access === 'public') return who.principal;
  if (!who.principal) throw problems.unauthorized('this request needs a bearer token');
  if (access !== 'authenticated' && !who.principal.roles.includes(access)) throw problems.forbidden(`this request needs the ${access} role`);
  return who.principal;
}

@Injectable()
export class AccessGuard implements CanActivate {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [context.getHandler(), context.getClass()]) ?? 'authenticated';
    admit(context.switchToHttp().getRequest<AuthenticatedRequest>(), access);
    return true;
  }
}

/** The caller, on routes that require one. */
/** The caller of a public route: undefined when anonymous. */
export const CallerIfAny = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal | undefined => context.switchToHttp().getRequest<AuthenticatedRequest>().principal,
);

export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw problems.unauthorized('this request needs a bearer token');
  return principal;
});
