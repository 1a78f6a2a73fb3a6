import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { UserRole } from './roles';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error';
import { IS_PUBLIC, ROLES } from './auth.decorators';

interface RouteRules {
  isPublic: boolean;
  roles?: UserRole[];
}

/**
 * The one HTTP guard: public routes, signed-in callers, roles. Who the caller
 * is (session cookie or bearer token, and their read-your-writes window) was
 * settled before Nest's router, in the request pipeline (app/http-setup.ts),
 * so this check is synchronous: Nest then awaits nothing for it.
 * Without `req.principal` every non-public route is a 401.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /** Per controller class and handler (a handler can be inherited): decorators never change after start-up, so they are read once. */
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'http') return true;
    const { isPublic, roles } = this.rulesOf(ctx);
    const principal = ctx.switchToHttp().getRequest<Request>().principal;
    if (!principal) {
      if (isPublic) return true;
      throw new UnauthorizedError();
    }
    if (roles?.length && !roles.includes(principal.role)) throw new ForbiddenError('This needs the admin role');
    return true;
  }

  private rulesOf(ctx: ExecutionContext): RouteRules {
    const handler = ctx.getHandler();
    const cls = ctx.getClass();
    let ofClass = this.rules.get(cls);
    if (!ofClass) this.rules.set(cls, (ofClass = new WeakMap()));
    let rules = ofClass.get(handler);
    if (!rules) {
      const targets = [handler, cls];
      rules = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false,
        roles: this.reflector.getAllAndOverride<UserRole[] | undefined>(ROLES, targets),
      };
      ofClass.set(handler, rules);
    }
    return rules;
  }
}
