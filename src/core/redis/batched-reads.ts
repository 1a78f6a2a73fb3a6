import type { RedisClient } from './redis.factory';

/** Keys per MGET; a fuller turn starts another batch. */
const MAX_BATCH = 256;

interface Waiter {
  at: number;
  /** -1: one key, answered with its value rather than an array. */
  count: number;
  resolve: (values: never) => void;
  reject: (err: unknown) => void;
}

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
    return this.enqueue([key], -1);
  }

  /** The keys' values in order (null where a key does not exist), read with every other caller's keys of this turn. */
  getMany(keys: string[]): Promise<(string | null)[]> {
    return this.enqueue(keys, keys.length);
  }

  private enqueue<T>(keys: string[], count: number): Promise<T> {
    let batch = this.open;
    if (!batch || batch.keys.length + keys.length > MAX_BATCH) {
      const fresh: Batch = (batch = this.open = { keys: [], waiters: [] });
      setImmediate(() => this.send(fresh));
    }
    const { keys: all, waiters } = batch;
    return new Promise<T>((resolve, reject) => {
      waiters.push({ at: all.length, count, resolve, reject });
      for (const key of keys) all.push(key);
    });
  }

  private send(batch: Batch): void {
    if (this.open === batch) this.open = null;
    this.read(batch.keys).then(
      (values) => {
        for (const w of batch.waiters) w.resolve((w.count < 0 ? values[w.at] : values.slice(w.at, w.at + w.count)) as never);
      },
      (err: unknown) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }

  /** One MGET; on Redis Cluster one GET per key (keys of other slots would fail an MGET), auto-pipelined per node. */
  private read(keys: string[]): Promise<(string | null)[]> {
    if (this.redis.isCluster) return Promise.all(keys.map((key) => this.redis.get(key)));
    return this.redis.mget(...keys);
  }
}
