import type { RedisClient } from '../redis/redis.factory';

/** `redis_version:7.0.15` from INFO server; null when absent. */
export function redisMajorVersion(info: string): number | null {
  const m = /^redis_version:(\d+)\./m.exec(info);
  return m ? Number(m[1]) : null;
}

export class ShardedPubSubUnsupportedError extends Error {}

/**
 * REALTIME_SHARDS > 1 publishes with SPUBLISH and subscribes with SSUBSCRIBE: sharded pub/sub, Redis 7.0
 * and later. On an older Redis every publish script would fail with "unknown command" and no event would
 * be delivered, so the process refuses to start and says why. A Redis that cannot be asked now (down at
 * boot) is not a reason to refuse: the process starts and /up reports Redis.
 */
export async function assertShardedPubSub(redis: RedisClient, shards: number): Promise<void> {
  if (shards <= 1) return;
  const info = await redis.info('server').catch(() => null);
  const major = info === null ? null : redisMajorVersion(info);
  if (major !== null && major < 7) {
    const version = /^redis_version:(\S+)/m.exec(info ?? '')?.[1];
    throw new ShardedPubSubUnsupportedError(`REALTIME_SHARDS=${shards} needs Redis 7.0 or later (sharded pub/sub: SPUBLISH, SSUBSCRIBE); this Redis is ${version}. Set REALTIME_SHARDS=1 or upgrade Redis.`);
  }
}
