import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { UserRole } from '../../modules/auth/entities/user.entity';
import { currentUnitOfWork } from '../database/unit-of-work';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error';
import { IS_PUBLIC, ROLES } from './auth.decorators';
import { Authenticator } from './authenticator';

interface RouteRules {
  isPublic: boolean;
  roles?: UserRole[];
}

/**
 * The one HTTP guard: session cookie or bearer token, roles, and the
 * per-user read-your-writes window for the database router.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  /** Per controller class and handler (a handler can be inherited): decorators never change after start-up, so they are read once. */
  private readonly rules = new WeakMap<object, WeakMap<object, RouteRules>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const { isPublic, roles } = this.rulesOf(ctx);
    const req = ctx.switchToHttp().getRequest<Request>();
    const identity = await this.authenticator.identify(req);
    if (!identity) {
      if (isPublic) return true;
      throw new UnauthorizedError();
    }
    const principal = identity.principal;
    req.principal = principal;
    const unit = currentUnitOfWork();
    if (unit) {
      unit.userId = String(principal.id);
      unit.userWithinWindow = identity.withinWindow;
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
