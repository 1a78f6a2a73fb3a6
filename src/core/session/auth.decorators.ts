import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { UserRole } from './roles';
import type { Principal } from './principal';

export const IS_PUBLIC = 'switchboard:public';
export const ROLES = 'switchboard:roles';

/** No authentication needed (a principal is still resolved when present). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
export const Roles = (...roles: UserRole[]) => SetMetadata(ROLES, roles);

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<Request>().principal as Principal;
});
