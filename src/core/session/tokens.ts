import { Inject, Injectable } from '@nestjs/common';
import { JwtModuleOptions, JwtService } from '@nestjs/jwt';
import { createSecretKey, randomUUID } from 'node:crypto';
import { AppConfig } from '../../config/app-config';
import type { UserRole } from './roles';
import { BatchedReads } from '../redis/batched-reads';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import type { Principal } from './principal';

export interface TokenClaims {
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

/** Distinct live tokens whose verification is remembered per process (about 2 MB when full). */
const VERIFIED_CACHE_SIZE = 5000;

/** Bearer tokens for API and socket clients: signed, expiring, revocable on logout. */
@Injectable()
export class Tokens {
  private readonly revokedPrefix: string;
  private readonly verified = new Map<string, TokenClaims>();

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly reads: BatchedReads,
  ) {
    this.revokedPrefix = `${config.redis.prefix}jwt:revoked:`;
  }

  async issue(userId: number, role: UserRole): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = this.config.auth.jwtTtlSeconds;
    const token = await this.jwt.signAsync({ sub: String(userId), role, jti: randomUUID() }, { expiresIn });
    return { token, expiresIn };
  }

  /**
   * The claims of a token with a valid signature, an expiry in the future and
   * the shape we issue; null for anything else. Verified tokens are remembered
   * (bounded, oldest first out) so a client's next request costs a Map lookup
   * instead of an HMAC; the expiry is checked on every use, revocation is not
   * part of this (see `verify` and Authenticator).
   */
  claimsOf(token: string): TokenClaims | null {
    const known = this.verified.get(token);
    if (known) {
      if (known.exp * 1000 > Date.now()) return known;
      this.verified.delete(token);
      return null;
    }
    let claims: TokenClaims;
    try {
      claims = this.jwt.verify<TokenClaims>(token, { algorithms: ['HS256'] });
    } catch {
      return null;
    }
    const id = Number(claims.sub);
    if (!Number.isSafeInteger(id) || id <= 0 || (claims.role !== 'user' && claims.role !== 'admin') || !claims.jti || !claims.exp) return null;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, claims);
    return claims;
  }

  /** The Redis key that marks a token revoked (present until the token would have expired anyway). */
  revokedKey(claims: TokenClaims): string {
    return this.revokedPrefix + claims.jti;
  }

  /** Read with other callers' keys in one MGET (BatchedReads). Throws only if Redis is unreachable. */
  isRevoked(claims: TokenClaims): Promise<boolean> {
    return this.reads.exists(this.revokedKey(claims));
  }

  principalOf(claims: TokenClaims): Principal {
    return { id: Number(claims.sub), role: claims.role, via: 'token', tokenId: claims.jti, tokenExpiresAt: claims.exp };
  }

  /** The principal of a valid, unrevoked token; null for anything else. Throws only if Redis is unreachable. */
  async verify(token: string): Promise<Principal | null> {
    const claims = this.claimsOf(token);
    if (!claims) return null;
    if (await this.isRevoked(claims)) return null;
    return this.principalOf(claims);
  }

  async revoke(principal: Principal): Promise<void> {
    if (!principal.tokenId || !principal.tokenExpiresAt) return;
    await this.revokeId(principal.tokenId, principal.tokenExpiresAt);
  }

  /** Marks the token with this id revoked until `expiresAt` (epoch seconds), when it would stop working anyway. */
  async revokeId(tokenId: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(1, expiresAt - Math.floor(Date.now() / 1000));
    await this.redis.set(this.revokedPrefix + tokenId, '1', 'EX', ttl);
  }
}
