import { Inject, Injectable } from '@nestjs/common';
import { JwtModuleOptions, JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import type { UserRole } from '../../modules/auth/entities/user.entity';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import type { Principal } from './principal';

interface TokenClaims {
  sub: string;
  role: UserRole;
  jti: string;
  exp: number;
}

/**
 * HS256 with the secret as a KeyObject: given a string, jsonwebtoken first tries to parse it as a PEM
 * public key on every sign and verify, and that failed parse cost more than the rest of the request's
 * authentication (bench/http). Same key bytes, so tokens signed with the plain string stay valid.
 */
export function jwtModuleOptions(config: AppConfig): JwtModuleOptions {
  return { secret: createSecretKey(Buffer.from(config.auth.jwtSecret, 'utf8')), signOptions: { algorithm: 'HS256' } };
}

/** Bearer tokens for API and socket clients: signed, expiring, revocable on logout. */
@Injectable()
export class Tokens {
  private readonly revokedPrefix: string;

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    this.revokedPrefix = `${config.redis.prefix}jwt:revoked:`;
  }

  async issue(userId: number, role: UserRole): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = this.config.auth.jwtTtlSeconds;
    const token = await this.jwt.signAsync({ sub: String(userId), role, jti: randomUUID() }, { expiresIn });
    return { token, expiresIn };
  }

  /** The principal of a valid, unrevoked token; null for anything else. Throws only if Redis is unreachable. */
  async verify(token: string): Promise<Principal | null> {
    const checked = this.check(token);
    if (!checked) return null;
    if ((await this.redis.exists(checked.revocationKey)) === 1) return null;
    return checked.principal;
  }

  /**
   * Everything but the revocation lookup: signature, expiry, claims. The caller
   * must treat the principal as valid only if `revocationKey` does not exist in
   * Redis (a socket handshake reads it in the same round trip as its connection slot).
   */
  check(token: string): { principal: Principal; revocationKey: string } | null {
    let claims: TokenClaims;
    try {
      // Synchronous: HS256 with a KeyObject needs no async secret lookup, and verifyAsync wraps the
      // same call in three promises and a callback (garbage per socket handshake, bench/RESULTS.md).
      claims = this.jwt.verify<TokenClaims>(token, { algorithms: ['HS256'] });
    } catch {
      return null;
    }
    const id = Number(claims.sub);
    if (!Number.isSafeInteger(id) || id <= 0 || (claims.role !== 'user' && claims.role !== 'admin') || !claims.jti) return null;
    return { principal: { id, role: claims.role, via: 'token', tokenId: claims.jti, tokenExpiresAt: claims.exp }, revocationKey: this.revokedPrefix + claims.jti };
  }

  async revoke(principal: Principal): Promise<void> {
    if (!principal.tokenId || !principal.tokenExpiresAt) return;
    const ttl = Math.max(1, principal.tokenExpiresAt - Math.floor(Date.now() / 1000));
    await this.redis.set(this.revokedPrefix + principal.tokenId, '1', 'EX', ttl);
  }
}
