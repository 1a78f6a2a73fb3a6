import { JwtService } from '@nestjs/jwt';
import * as jwt from 'jsonwebtoken';
import { AppConfig } from '../../config/app-config';
import { parseEnv } from '../../config/env.schema';
import { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { jwtModuleOptions, Tokens } from './tokens';

const SECRET = 'a-test-secret-of-enough-length';

/** Only the two commands Tokens uses (GETs go out as MGET through BatchedReads), over a Map. */
function fakeRedis(): RedisClient {
  const keys = new Map<string, string>();
  return {
    mget: async (...wanted: string[]) => wanted.map((k) => keys.get(k) ?? null),
    set: async (key: string, value: string) => {
      keys.set(key, value);
      return 'OK';
    },
  } as unknown as RedisClient;
}

function makeTokens(secret = SECRET): Tokens {
  const config = new AppConfig(parseEnv({ JWT_SECRET: secret }));
  const redis = fakeRedis();
  return new Tokens(new JwtService(jwtModuleOptions(config)), config, redis, new BatchedReads(redis));
}

describe('Tokens', () => {
  it('verifies a token it issued to the same user and role', async () => {
    const tokens = makeTokens();
    const { token, expiresIn } = await tokens.issue(42, 'admin');
    expect(expiresIn).toBe(3600);
    await expect(tokens.verify(token)).resolves.toMatchObject({ id: 42, role: 'admin', via: 'token' });
  });

  it('accepts tokens signed with the secret as a plain string (issued before the key object)', async () => {
    const legacy = jwt.sign({ sub: '7', role: 'user', jti: 'j-1' }, SECRET, { algorithm: 'HS256', expiresIn: 60 });
    await expect(makeTokens().verify(legacy)).resolves.toMatchObject({ id: 7, role: 'user', tokenId: 'j-1' });
  });

  it('rejects a token signed with another secret, a tampered one, an expired one and garbage', async () => {
    const tokens = makeTokens();
    const { token: foreign } = await makeTokens('another-secret-of-enough-length').issue(1, 'user');
    await expect(tokens.verify(foreign)).resolves.toBeNull();

    const { token } = await tokens.issue(1, 'user');
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: '1', role: 'admin', jti: 'x', exp: 9999999999 })).toString('base64url');
    await expect(tokens.verify(`${h}.${forged}.${s}`)).resolves.toBeNull();

    const expired = jwt.sign({ sub: '1', role: 'user', jti: 'j', exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { algorithm: 'HS256' });
    await expect(tokens.verify(expired)).resolves.toBeNull();
    await expect(tokens.verify('not.a.token')).resolves.toBeNull();
  });

  it('rejects a revoked token', async () => {
    const tokens = makeTokens();
    const { token } = await tokens.issue(5, 'user');
    const principal = await tokens.verify(token);
    expect(principal).not.toBeNull();
    await tokens.revoke(principal!);
    await expect(tokens.verify(token)).resolves.toBeNull();
  });

  it('stops accepting a remembered token once it has expired', async () => {
    const tokens = makeTokens();
    const short = jwt.sign({ sub: '3', role: 'user', jti: 'j-short' }, SECRET, { algorithm: 'HS256', expiresIn: 60 });
    await expect(tokens.verify(short)).resolves.toMatchObject({ id: 3 });
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 61_000);
    try {
      expect(tokens.claimsOf(short)).toBeNull();
      await expect(tokens.verify(short)).resolves.toBeNull();
    } finally {
      clock.mockRestore();
    }
  });

  it('never remembers a token that failed verification', async () => {
    const tokens = makeTokens();
    const { token } = await tokens.issue(1, 'user');
    const tampered = `${token.slice(0, -2)}xx`;
    expect(tokens.claimsOf(tampered)).toBeNull();
    expect(tokens.claimsOf(tampered)).toBeNull();
    expect(tokens.claimsOf(token)).toMatchObject({ sub: '1', role: 'user' });
  });
});
