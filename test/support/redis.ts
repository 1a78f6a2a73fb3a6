import { createRedis, RedisClient } from '../../src/core/redis/redis.factory';
import { stackEnv } from './stack';

const hosts = (list: string | undefined, defaultPort: number) =>
  list
    ?.split(',')
    .filter(Boolean)
    .map((h) => {
      const [host, port] = h.trim().split(':');
      return { host, port: Number(port || defaultPort) };
    });

/** The test stack's Redis as the app sees it — one Redis, Sentinel or Cluster — so a test reads what the app wrote. */
export function redisConfig() {
  const env = stackEnv();
  return {
    url: env.REDIS_URL,
    sentinels: hosts(env.REDIS_SENTINELS, 26379),
    sentinelName: env.REDIS_SENTINEL_NAME ?? 'mymaster',
    clusterNodes: hosts(env.REDIS_CLUSTER_NODES, 6379),
    prefix: 'sb:',
  };
}

/** A patient test connection (offline queue on), closed by the caller. */
export function testRedis(name = 'test'): RedisClient {
  return createRedis(redisConfig(), { name, failFast: false, extra: { maxRetriesPerRequest: 3 } });
}

/** Which topology the run uses (STACK_REDIS): tests that stop "the" Redis only make sense on one. */
export const redisTopology = (): string => stackEnv().STACK_REDIS ?? 'single';
