import { TurnBatch } from '../database/turn-batch';
import type { RedisClient } from './redis.factory';

/** Keys per MGET; a fuller turn starts another batch. */
const MAX_BATCH = 256;

/**
 * Plain GETs from any number of callers, sent as one MGET per turn of the
 * event loop: under load the requests parsed in the same turn (their session,
 * their token's revocation mark, their read-your-writes window) share one
 * Redis round trip, and each write to a socket is a large share of a
 * request's CPU here (bench/RESULTS.md). Nothing is cached: every value is
 * read from Redis after its caller asked for it, so a write that returned
 * before the read began is always seen (a logout on another process, the
 * read-your-writes window).
 *
 * Our own small batcher (TurnBatch) rather than DataLoader: with one promise per call
 * instead of DataLoader's five per key, because each promise pays the unit
 * of work's AsyncLocalStorage hooks on Node 20.
 */
export class BatchedReads {
  /** One MGET per turn of the event loop (TurnBatch, sent at setImmediate). */
  private readonly batch: TurnBatch<string, string | null>;

  constructor(private readonly redis: RedisClient) {
    this.batch = new TurnBatch((keys) => this.read(keys), MAX_BATCH);
  }

  /** The key's value, null when it does not exist; rejects when Redis is unreachable. */
  get(key: string): Promise<string | null> {
    return this.batch.get(key);
  }

  /** Whether the key exists (a revocation mark, a read-your-writes window), read the same way. */
  exists(key: string): Promise<boolean> {
    return this.get(key).then(isSet);
  }

  /** One MGET; on Redis Cluster one GET per key, all sent at once (an MGET across slots fails there). */
  private read(keys: string[]): Promise<(string | null)[]> {
    if (this.redis.isCluster) return Promise.all(keys.map((key) => this.redis.get(key)));
    return this.redis.mget(...keys);
  }
}

const isSet = (value: string | null) => value !== null;
