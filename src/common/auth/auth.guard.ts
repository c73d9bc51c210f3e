import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error';
import { ID_MESSAGE, isId } from '../validation/validators';
import { PrincipalResolver } from './principal-resolver';
import { RequestRateLimiter } from '../limits/request-rate-limiter';
import { PUBLIC_KEY, QUERY_TOKEN_KEY, ROLE_KEY } from './auth.decorators';
import type { Role } from './principal';

export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * Every /api route: a known, unrevoked key (401), the role the route needs (403), and, for a route naming
 * a project, that project in the key's scope (403). Workflow routes check scope in their handlers and
 * answer 404, so that a workflow's existence never leaks across projects.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: PrincipalResolver,
    private readonly limiter: RequestRateLimiter,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest & { principal?: unknown }>();
    let token = bearerToken(req.headers.authorization);
    if (!token && this.reflector.getAllAndOverride<boolean>(QUERY_TOKEN_KEY, targets)) {
      const q = (req.query as Record<string, unknown> | undefined)?.access_token;
      token = typeof q === 'string' ? q : undefined;
    }
    // §10: per key; requests without a valid key count against their client address, and a token that must
    // be looked up in the database is charged there first, so that a flood of different bad tokens is
    // answered 429 without a query each. A lookup that finds a key gives that charge back: the request is
    // the key's, and new keys behind one address do not share a budget
    const byAddress = `ip:${req.socket.remoteAddress ?? '?'}`;
    let charged = false;
    let chargedUntil: number | undefined;
    const chargeAddress = this.limiter.enabled
      ? async () => {
          charged = true;
          chargedUntil = await this.limiter.consume(byAddress);
        }
      : undefined;
    const principal = token ? await this.keys.authenticate(token, chargeAddress) : undefined;
    if (this.limiter.enabled) {
      if (principal) {
        if (charged) await this.limiter.refund(byAddress, chargedUntil);
        await this.limiter.consume(principal.keyId);
      } else if (!charged) await this.limiter.consume(byAddress);
    }
    if (!token) throw new DomainError('unauthorized', 'missing bearer token');
    if (!principal) throw new DomainError('unauthorized', 'unknown or revoked key');
    req.principal = principal;

    const need = this.reflector.getAllAndOverride<Role>(ROLE_KEY, targets);
    if (need === 'admin' && principal.role !== 'admin')
      throw new DomainError('forbidden', 'this needs an admin key');
    if (need === 'producer' && principal.role === 'viewer')
      throw new DomainError('forbidden', 'this needs a producer key');

    const projectId = (req.params as Record<string, unknown> | undefined)?.projectId;
    if (typeof projectId === 'string') {
      if (!isId(projectId))
        throw new DomainError('validation_failed', `projectId ${ID_MESSAGE}`, [
          { field: 'projectId', message: ID_MESSAGE },
        ]);
      if (!principal.canRead(projectId))
        throw new DomainError('forbidden', `no access to project ${projectId}`);
    }
    return true;
  }
}
