import DataLoader from 'dataloader';
import type { RedisClient } from './redis.factory';

/**
 * Plain GETs from any number of callers, sent as one MGET per turn of the
 * event loop: under load the requests parsed in the same turn (their session,
 * their token's revocation mark, their read-your-writes window) share one
 * Redis round trip, and each write to a socket is a large share of a
 * request's CPU here (bench/RESULTS.md). Nothing is cached: every value is
 * read from Redis after its caller asked for it.
 */
export class BatchedReads {
  private readonly loader: DataLoader<string, string | null>;

  constructor(redis: RedisClient) {
    this.loader = new DataLoader((keys) => redis.mget(...keys), {
      cache: false,
      batchScheduleFn: (run) => setImmediate(run),
      maxBatchSize: 256,
    });
  }

  /** The key's value, null when it does not exist; rejects when Redis is unreachable. */
  get(key: string): Promise<string | null> {
    return this.loader.load(key);
  }
}
