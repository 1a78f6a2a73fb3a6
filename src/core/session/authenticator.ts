import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { StickyWindow } from '../database/sticky-window';
import type { Principal } from './principal';
import { sessionOwnerHint } from './session-cookie';
import { Tokens } from './tokens';

const BEARER = /^Bearer\s+(\S+)$/i;

export interface Identity {
  principal: Principal;
  /** The user wrote within DB_STICKY_WINDOW_MS, on any process: their reads go to the primary. */
  withinWindow: boolean;
}

/**
 * Resolves the caller of an HTTP request (or a socket handshake, which
 * carries the same headers): a bearer token first, then the session.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: Tokens,
    private readonly sticky: StickyWindow,
  ) {}

  async fromRequest(req: Request): Promise<Principal | null> {
    const header = req.headers.authorization;
    if (header) {
      const match = BEARER.exec(header);
      return match ? this.tokens.verify(match[1]) : null;
    }
    const s = req.session;
    if (s?.userId && s.role) return { id: s.userId, role: s.role, via: 'session' };
    return null;
  }

  fromToken(token: string): Promise<Principal | null> {
    return this.tokens.verify(token);
  }

  /** A token checked except for revocation (Tokens.claimsOf): valid only if `revocationKey` is absent from Redis. */
  checkToken(token: string): { principal: Principal; revocationKey: string } | null {
    const claims = this.tokens.claimsOf(token);
    return claims ? { principal: this.tokens.principalOf(claims), revocationKey: this.tokens.revokedKey(claims) } : null;
  }

  /**
   * The caller of an HTTP request and their read-your-writes window, settled
   * once per request by the request pipeline (app/http-setup.ts) before Nest's
   * router. Null for no credentials or invalid ones. Rejects only if Redis is
   * unreachable.
   */
  identify(req: Request): Promise<Identity | null> {
    const header = req.headers.authorization;
    if (header) {
      const match = BEARER.exec(header);
      const claims = match ? this.tokens.claimsOf(match[1]) : null;
      if (!claims) return NO_ONE;
      // Both reads go out in the same MGET (BatchedReads), with other requests' keys.
      return Promise.all([this.tokens.isRevoked(claims), this.sticky.isWithin(claims.sub)]).then(([revoked, withinWindow]) =>
        revoked ? null : { principal: this.tokens.principalOf(claims), withinWindow },
      );
    }
    const s = req.session;
    if (!s?.userId || !s.role) return NO_ONE;
    const principal: Principal = { id: s.userId, role: s.role, via: 'session' };
    const userId = String(s.userId);
    const hint = req.windowHint;
    const within = hint?.userId === userId ? hint.within : this.sticky.isWithin(userId);
    return within.then((withinWindow) => ({ principal, withinWindow }));
  }

  /**
   * Starts the read-your-writes read for the user a session cookie names (sessionIdFor), before
   * the session is loaded: both keys then go out in the same MGET (BatchedReads) instead of one
   * round trip after the other. Only a hint: identify() uses it when the loaded session belongs
   * to that user (the id is signed, so a mismatch means an old-format or foreign id) and reads the
   * window itself otherwise.
   */
  prefetch(req: Request): void {
    if (req.headers.authorization) return;
    const userId = sessionOwnerHint(req.headers.cookie);
    if (userId === null) return;
    const within = this.sticky.isWithin(userId);
    within.catch(() => undefined); // unused when the hint is wrong: its failure must not go unhandled
    req.windowHint = { userId, within };
  }
}

const NO_ONE: Promise<null> = Promise.resolve(null);
