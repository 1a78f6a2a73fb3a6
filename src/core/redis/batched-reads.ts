import type { RedisClient } from './redis.factory';

/** Keys per MGET; a fuller turn starts another batch. */
const MAX_BATCH = 256;

interface Waiter {
  resolve: (value: string | null) => void;
  reject: (err: unknown) => void;
}

/** `waiters[i]` asked for `keys[i]`. */
interface Batch {
  keys: string[];
  waiters: Waiter[];
}

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
 * Its own small batcher rather than DataLoader: with one promise per call
 * instead of DataLoader's five per key, because each promise pays the unit
 * of work's AsyncLocalStorage hooks on Node 20.
 */
export class BatchedReads {
  /** The batch the current turn adds to; sent at setImmediate. */
  private open: Batch | null = null;

  constructor(private readonly redis: RedisClient) {}

  /** The key's value, null when it does not exist; rejects when Redis is unreachable. */
  get(key: string): Promise<string | null> {
    let batch = this.open;
    if (!batch || batch.keys.length >= MAX_BATCH) {
      const fresh: Batch = (batch = this.open = { keys: [], waiters: [] });
      setImmediate(() => this.send(fresh));
    }
    const { keys, waiters } = batch;
    return new Promise((resolve, reject) => {
      keys.push(key);
      waiters.push({ resolve, reject });
    });
  }

  /** Whether the key exists (a revocation mark, a read-your-writes window), read the same way. */
  exists(key: string): Promise<boolean> {
    return this.get(key).then(isSet);
  }

  private send(batch: Batch): void {
    if (this.open === batch) this.open = null;
    this.read(batch.keys).then(
      (values) => {
        batch.waiters.forEach((w, i) => w.resolve(values[i]));
      },
      (err: unknown) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }

  /** One MGET; on Redis Cluster one GET per key, all sent at once (an MGET across slots fails there). */
  private read(keys: string[]): Promise<(string | null)[]> {
    if (this.redis.isCluster) return Promise.all(keys.map((key) => this.redis.get(key)));
    return this.redis.mget(...keys);
  }
}

const isSet = (value: string | null) => value !== null;
