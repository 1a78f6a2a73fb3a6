import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Principal } from './principal';
import { Tokens } from './tokens';

/**
 * Resolves the caller of an HTTP request (or a socket handshake, which
 * carries the same headers): a bearer token first, then the session.
 */
@Injectable()
export class Authenticator {
  constructor(private readonly tokens: Tokens) {}

  async fromRequest(req: Request): Promise<Principal | null> {
    const header = req.headers.authorization;
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      return match ? this.tokens.verify(match[1]) : null;
    }
    const s = req.session;
    if (s?.userId && s.role) return { id: s.userId, role: s.role, via: 'session' };
    return null;
  }

  fromToken(token: string): Promise<Principal | null> {
    return this.tokens.verify(token);
  }

  /** A token checked except for revocation (see Tokens.check): valid only if `revocationKey` is absent from Redis. */
  checkToken(token: string): { principal: Principal; revocationKey: string } | null {
    return this.tokens.check(token);
  }

  /**
   * The user id the request claims, before any verification: only for
   * prefetching per-user state in parallel with the real check.
   */
  claimedUserId(req: Request): string | undefined {
    const header = req.headers.authorization;
    if (header) {
      const match = /^Bearer\s+[\w-]+\.([\w-]+)\.[\w-]+$/i.exec(header);
      if (!match) return undefined;
      try {
        const sub = (JSON.parse(Buffer.from(match[1], 'base64url').toString()) as { sub?: unknown }).sub;
        return typeof sub === 'string' ? sub : undefined;
      } catch {
        return undefined;
      }
    }
    return req.session?.userId ? String(req.session.userId) : undefined;
  }
}
