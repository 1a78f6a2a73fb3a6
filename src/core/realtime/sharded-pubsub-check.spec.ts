import type { RedisClient } from '../redis/redis.factory';
import { assertShardedPubSub, redisMajorVersion } from './sharded-pubsub-check';

const redisAnswering = (info: string | Error) => ({ info: () => (info instanceof Error ? Promise.reject(info) : Promise.resolve(info)) }) as unknown as RedisClient;

describe('REALTIME_SHARDS needs Redis 7 (sharded pub/sub)', () => {
  it('reads the major version from INFO server', () => {
    expect(redisMajorVersion('# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n')).toBe(7);
    expect(redisMajorVersion('# Server\r\nredis_version:6.2.14\r\n')).toBe(6);
    expect(redisMajorVersion('# Server\r\n')).toBeNull();
  });

  it('refuses shards on Redis 6 with what to do, allows them on 7, and never asks with one shard', async () => {
    await expect(assertShardedPubSub(redisAnswering('redis_version:6.2.14\r\n'), 3)).rejects.toThrow('REALTIME_SHARDS=3 needs Redis 7.0 or later (sharded pub/sub: SPUBLISH, SSUBSCRIBE); this Redis is 6.2.14. Set REALTIME_SHARDS=1 or upgrade Redis.');
    await expect(assertShardedPubSub(redisAnswering('redis_version:7.2.4\r\n'), 3)).resolves.toBeUndefined();
    let asked = false;
    const counting = { info: () => ((asked = true), Promise.resolve('redis_version:6.0.0')) } as unknown as RedisClient;
    await assertShardedPubSub(counting, 1);
    expect(asked).toBe(false);
  });

  it('does not refuse to start when Redis cannot be asked (down at boot: /up reports it)', async () => {
    await expect(assertShardedPubSub(redisAnswering(new Error('Connection is closed.')), 3)).resolves.toBeUndefined();
  });
});
