import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from './principal';

export const ROLE_KEY = 'stepline:role';
export const PUBLIC_KEY = 'stepline:public';
export const QUERY_TOKEN_KEY = 'stepline:queryToken';

/** The least role a route needs: `producer` admits producers and admins; `admin` only admins. */
export const RequireRole = (role: Exclude<Role, 'viewer'>) => SetMetadata(ROLE_KEY, role);
/** Routes outside /api auth (health, metrics, docs, dashboard). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
/** Routes that also accept `?access_token=` (EventSource cannot set headers). */
export const AllowQueryToken = () => SetMetadata(QUERY_TOKEN_KEY, true);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest().principal,
);
