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
}
