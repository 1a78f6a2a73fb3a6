import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { UserRole } from '../../modules/auth/entities/user.entity';
import { StickyWindow } from '../database/sticky-window';
import { currentUnitOfWork } from '../database/unit-of-work';
import { ForbiddenError, UnauthorizedError } from '../errors/domain-error';
import { IS_PUBLIC, ROLES } from './auth.decorators';
import { Authenticator } from './authenticator';

/**
 * The one HTTP guard: session cookie or bearer token, roles, and the
 * per-user read-your-writes window for the database router.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly sticky: StickyWindow,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
    const req = ctx.switchToHttp().getRequest<Request>();
    // The read-your-writes lookup starts beside the token's revocation check
    // (one pipelined round trip to Redis); its answer counts only for the verified user.
    const claimed = this.authenticator.claimedUserId(req);
    const prefetch = claimed ? this.sticky.isWithin(claimed) : undefined;
    prefetch?.catch(() => undefined);
    const principal = await this.authenticator.fromRequest(req);
    if (!principal) {
      if (isPublic) return true;
      throw new UnauthorizedError();
    }
    req.principal = principal;
    const unit = currentUnitOfWork();
    if (unit) {
      unit.userId = String(principal.id);
      unit.userWithinWindow = await (claimed === unit.userId && prefetch ? prefetch : this.sticky.isWithin(unit.userId));
    }
    const roles = this.reflector.getAllAndOverride<UserRole[] | undefined>(ROLES, targets);
    if (roles?.length && !roles.includes(principal.role)) throw new ForbiddenError('This needs the admin role');
    return true;
  }
}
