import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { countReadCache } from '../metrics/metrics';
import { ReadCache, ReadCacheOptions } from './read-cache';
import type { RedisClient } from './redis.factory';

/** Where Redis publishes the keys a tracking client read and that changed since (RESP2 redirect mode). */
const INVALIDATE_CHANNEL = '__redis__:invalidate';

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

export const READ_CACHE_DEFAULTS: ReadCacheOptions = { maxEntries: 50_000, presentMs: 1_000, absentMs: 60_000 };

/** Makes the two extra connections of the client-side cache (a tracked reader, an invalidation subscriber). */
export type TrackedConnections = (name: 'tracked-reads' | 'invalidations') => RedisClient;

/**
 * Plain GETs from any number of callers, sent as one MGET per turn of the
 * event loop: under load the requests parsed in the same turn (their session,
 * their token's revocation mark, their read-your-writes window) share one
 * Redis round trip, and each write to a socket is a large share of a
 * request's CPU here (bench/RESULTS.md).
 *
 * With `tracked` (single Redis or Sentinel, not Cluster), values are also kept
 * in memory with Redis' server-assisted client-side caching: the reads go out
 * on a connection with CLIENT TRACKING ON REDIRECT to a second connection
 * subscribed to `__redis__:invalidate`, so Redis names every key we read
 * the moment it is written, expires or is deleted; ReadCache decides what is
 * served locally. An active user's requests then cost no Redis round trip
 * at all until something of theirs changes.
 *
 * What this costs in consistency: a value changed by someone else is seen
 * here once its invalidation has arrived. Redis sends it while it executes
 * the write, before the writer even reads its reply, and lookups happen in
 * the batch (setImmediate: after every socket that was readable has been
 * read), so a request that another process sends us after its write has
 * returned (a logout, a write that opens the read-your-writes window) finds
 * the key already invalidated: the invalidation had microseconds on loopback,
 * or one network hop, against the client's whole round trip. A reader in
 * the very same microsecond as the write may still get the old value, as it
 * could from any replica. A closed tracking connection (EOF is acted on as
 * soon as it is read) or a failed set-up turns the cache off and empties it.
 */
export class BatchedReads {
  private readonly logger = new Logger(BatchedReads.name);
  /** The batch the current turn adds to; sent at setImmediate. */
  private open: Batch | null = null;
  private readonly cache: ReadCache;
  private reader?: RedisClient;
  private subscriber?: RedisClient;
  /** Bumped whenever either tracking connection closes: a set-up begun before is void. */
  private generation = 0;
  private settingUp = false;
  private setUpAgain = false;
  private warned = false;
  private readonly counts = { hit: 0, miss: 0, uncached: 0 };
  private readonly uncount: () => void;

  constructor(
    private readonly redis: RedisClient,
    private readonly tracked?: TrackedConnections,
    cacheOptions: ReadCacheOptions = READ_CACHE_DEFAULTS,
  ) {
    this.cache = new ReadCache(cacheOptions);
    this.uncount = countReadCache(() => this.counts);
  }

  /** The key's value, null when it does not exist; rejects when Redis is unreachable. */
  get(key: string): Promise<string | null> {
    return this.enqueue([key], -1);
  }

  /**
   * The keys' values in order (null where a key does not exist), read with
   * every other caller's keys of this turn; rejects when Redis is unreachable.
   * One promise per call, whatever the number of keys: each promise pays the
   * unit of work's AsyncLocalStorage hooks on Node 20.
   */
  getMany(keys: string[]): Promise<(string | null)[]> {
    return this.enqueue(keys, keys.length);
  }

  private enqueue<T>(keys: string[], count: number): Promise<T> {
    if (this.tracked && !this.reader) this.startTracking(this.tracked);
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

  /** Whether values are currently served from memory (tracking confirmed). */
  get caching(): boolean {
    return this.cache.isLive;
  }

  /** Keys served from memory, read from Redis while tracked, read untracked (also in redis_read_cache_total). */
  get stats(): { hit: number; miss: number; uncached: number } {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.uncount();
    this.cache.lose();
    const conns = [this.reader, this.subscriber].filter((c): c is RedisClient => c !== undefined);
    this.reader = this.subscriber = undefined;
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private send(batch: Batch): void {
    if (this.open === batch) this.open = null;
    const answer = (values: (string | null)[]) => {
      for (const w of batch.waiters) w.resolve((w.count < 0 ? values[w.at] : values.slice(w.at, w.at + w.count)) as never);
    };
    const fail = (err: unknown) => {
      for (const w of batch.waiters) w.reject(err);
    };
    try {
      const values = this.read(batch.keys);
      if (Array.isArray(values)) answer(values);
      else values.then(answer, fail);
    } catch (err) {
      fail(err);
    }
  }

  /** The values, from memory when every key is kept there, else after one MGET of the rest. */
  private read(keys: readonly string[]): (string | null)[] | Promise<(string | null)[]> {
    const now = Date.now();
    const values: (string | null)[] = new Array(keys.length);
    const misses: string[] = [];
    const missAt: number[] = [];
    keys.forEach((key, i) => {
      const kept = this.cache.lookup(key, now);
      if (kept === undefined) {
        misses.push(key);
        missAt.push(i);
      } else {
        values[i] = kept;
      }
    });
    this.counts.hit += keys.length - misses.length;
    if (!misses.length) return values;
    const ticket = this.cache.begin(misses);
    if (ticket) this.counts.miss += misses.length;
    else this.counts.uncached += misses.length;
    // Only a read on the tracked connection is followed by invalidations.
    return (ticket && this.reader ? this.reader : this.redis).mget(...misses).then(
      (read) => {
        this.cache.settle(ticket, misses, read, Date.now());
        missAt.forEach((at, j) => (values[at] = read[j]));
        return values;
      },
      (err: unknown) => {
        this.cache.abandon(ticket);
        throw err;
      },
    );
  }

  private startTracking(make: TrackedConnections): void {
    const reader = (this.reader = make('tracked-reads'));
    const subscriber = (this.subscriber = make('invalidations'));
    const lost = () => {
      this.generation++;
      this.cache.lose();
    };
    for (const conn of [reader, subscriber]) {
      // ioredis says 'close' only in a later loop phase; the socket's EOF is read in the same poll as
      // whatever else Redis sent, so stop serving from memory right there.
      conn.on('connect', () => (conn as Redis).stream.once('end', lost));
      conn.on('close', lost);
      conn.on('ready', () => void this.setUpTracking());
      conn.on('error', () => undefined); // the shared connection reports Redis outages
    }
    subscriber.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.cache.invalidate(keys === null ? null : keys.map(String));
    });
    void this.setUpTracking();
  }

  /** Subscribes to invalidations and turns tracking on for the reader, once both are connected. */
  private async setUpTracking(): Promise<void> {
    const { reader, subscriber } = this;
    if (!reader || !subscriber || reader.status !== 'ready' || subscriber.status !== 'ready') return;
    if (this.settingUp) {
      this.setUpAgain = true;
      return;
    }
    this.settingUp = true;
    const generation = this.generation;
    try {
      const id = await subscriber.client('ID');
      await subscriber.subscribe(INVALIDATE_CHANNEL);
      await reader.client('TRACKING', 'OFF');
      await reader.client('TRACKING', 'ON', 'REDIRECT', String(id));
      if (generation === this.generation && this.reader === reader) this.cache.goLive();
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        this.logger.warn({ err: (err as Error).message }, 'Redis client-side caching unavailable; every read goes to Redis');
      }
    } finally {
      this.settingUp = false;
      if (this.setUpAgain || generation !== this.generation) {
        this.setUpAgain = false;
        if (this.reader === reader) void this.setUpTracking();
      }
    }
  }
}
