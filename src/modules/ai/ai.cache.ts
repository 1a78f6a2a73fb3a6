import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import type { RedisClient } from '../../core/redis/redis.factory';
import { REDIS } from '../../core/redis/redis.module';

export interface CachedAnswer {
  answer: string;
  provider: string;
  /** What the provider call took when the entry was made: a hit saves this much. */
  providerMs: number;
  /** Hits of this entry, this one included. */
  hitCount: number;
  /** Hits of this entry by the asker, this one included (equal to hitCount without an asker). */
  askerHitCount: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Identical requests that joined a provider call already in flight (neither hit nor miss). */
  coalesced: number;
  entries: number;
  /** hits / (hits + misses), 0 when there were none. */
  hitRate: number;
  /** Time the hits did not spend: for each hit, what its entry's miss took end to end, less the hit's own time. */
  savedMs: number;
}

// Read and count a hit in one round trip, atomically (the entry cannot expire in between).
// ARGV[1] names the asker's own counter in the entry ('' for none): a non-admin is told only theirs.
const LOOKUP = `
local v = redis.call('HMGET', KEYS[1], 'answer', 'provider', 'providerMs')
if not v[1] then return nil end
local hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
local own = hits
if ARGV[1] ~= '' then own = redis.call('HINCRBY', KEYS[1], ARGV[1], 1) end
return {v[1], v[2], v[3], hits, own}`;

// First writer wins: a second process finishing the same call must not reset the hit count.
const STORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'answer', ARGV[1], 'provider', ARGV[2], 'providerMs', ARGV[3], 'hits', 0, 'createdAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1`;

// An entry without counting a hit, and whether another process still holds the call's lock.
const PEEK = `
local v = redis.call('HMGET', KEYS[1], 'answer', 'provider', 'providerMs')
return {v[1], v[2], v[3], redis.call('EXISTS', KEYS[2])}`;

// Delete the lock only if it is still ours (it may have expired and been taken by another process).
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type ScriptedRedis = RedisClient & {
  aiCacheLookup(key: string, askerField: string): Promise<[string, string, string, number, number] | null>;
  aiCachePeek(entryKey: string, lockKey: string): Promise<[string | null, string | null, string | null, number]>;
  aiCacheUnlock(lockKey: string, token: string): Promise<number>;
  aiCacheStore(key: string, answer: string, provider: string, providerMs: string, createdAt: string, ttlS: string): Promise<number>;
};

/**
 * The response cache, cluster-wide in Redis:
 *   <prefix>ai:resp:<sha256>   hash {answer, provider, providerMs, hits, createdAt}, TTL AI_CACHE_TTL_S
 *   <prefix>ai:cache:entries   sorted set of entry keys scored by expiry (ms), pruned on write and read,
 *                              so counting entries needs neither KEYS nor SCAN
 *   <prefix>ai:cache:stats     hash {hits, misses, coalesced, savedMs}
 * Every method may throw when Redis is away; AiService answers uncached then.
 */
@Injectable()
export class AiResponseCache {
  private readonly prefix: string;
  private readonly redis: ScriptedRedis;

  constructor(
    @Inject(REDIS) redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    this.prefix = `${config.redis.prefix}ai:`;
    const r = redis as ScriptedRedis;
    if (typeof r.aiCacheLookup !== 'function') r.defineCommand('aiCacheLookup', { numberOfKeys: 1, lua: LOOKUP });
    if (typeof r.aiCacheStore !== 'function') r.defineCommand('aiCacheStore', { numberOfKeys: 1, lua: STORE });
    if (typeof r.aiCachePeek !== 'function') r.defineCommand('aiCachePeek', { numberOfKeys: 2, lua: PEEK });
    if (typeof r.aiCacheUnlock !== 'function') r.defineCommand('aiCacheUnlock', { numberOfKeys: 1, lua: UNLOCK });
    this.redis = r;
  }

  // The {hash} tag keeps an entry and its lock in one Redis Cluster slot (PEEK reads both).
  private entryKey(hash: string): string {
    return `${this.prefix}resp:{${hash}}`;
  }

  private lockKey(hash: string): string {
    return `${this.prefix}lock:{${hash}}`;
  }

  private get entriesKey(): string {
    return `${this.prefix}cache:entries`;
  }

  private get statsKey(): string {
    return `${this.prefix}cache:stats`;
  }

  /**
   * The entry with its hit counted (per entry, per asker when one is named,
   * and in the stats), or null on a miss (counted by the caller).
   */
  async lookup(hash: string, askerId?: number): Promise<CachedAnswer | null> {
    const row = await this.redis.aiCacheLookup(this.entryKey(hash), askerId === undefined ? '' : `hits:u${askerId}`);
    if (!row) return null;
    const [answer, provider, providerMs, hits, own] = row;
    await this.redis.hincrby(this.statsKey, 'hits', 1);
    return { answer, provider, providerMs: Math.max(0, Number(providerMs) || 0), hitCount: Number(hits), askerHitCount: Number(own) };
  }

  /** A hit's saving: what its entry's miss cost, less what the hit took (never negative). Fractions of a ms add up. */
  async recordSaved(ms: number): Promise<void> {
    if (ms > 0) await this.redis.hincrbyfloat(this.statsKey, 'savedMs', Math.round(ms * 100) / 100);
  }

  /** A miss that went to a provider, or one that joined a call already in flight. */
  async count(outcome: 'misses' | 'coalesced'): Promise<void> {
    await this.redis.hincrby(this.statsKey, outcome, 1);
  }

  async store(hash: string, entry: { answer: string; provider: string; providerMs: number }): Promise<void> {
    const ttlS = this.config.ai.cacheTtlS;
    const key = this.entryKey(hash);
    const now = Date.now();
    const created = await this.redis.aiCacheStore(key, entry.answer, entry.provider, String(Math.round(entry.providerMs * 100) / 100), new Date(now).toISOString(), String(ttlS));
    if (created === 1) {
      await this.redis.zadd(this.entriesKey, now + ttlS * 1000, key);
      await this.redis.zremrangebyscore(this.entriesKey, '-inf', now);
    }
  }

  /**
   * Cross-process coalescing: the process that takes the lock calls the
   * provider; the others wait for its entry (peek) instead of calling too.
   */
  async tryLock(hash: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey(hash), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(hash: string, token: string): Promise<void> {
    await this.redis.aiCacheUnlock(this.lockKey(hash), token);
  }

  /** The entry (no hit counted) and whether the lock is still held. */
  async peek(hash: string): Promise<{ entry: { answer: string; provider: string; providerMs: number } | null; locked: boolean }> {
    const [answer, provider, providerMs, locked] = await this.redis.aiCachePeek(this.entryKey(hash), this.lockKey(hash));
    const entry = answer !== null && provider !== null ? { answer, provider, providerMs: Number(providerMs) || 0 } : null;
    return { entry, locked: locked === 1 };
  }

  async stats(): Promise<CacheStats> {
    await this.redis.zremrangebyscore(this.entriesKey, '-inf', Date.now());
    const [raw, entries] = await Promise.all([this.redis.hgetall(this.statsKey), this.redis.zcard(this.entriesKey)]);
    const num = (k: string) => Number(raw[k] ?? 0) || 0;
    const hits = num('hits');
    const misses = num('misses');
    return {
      hits,
      misses,
      coalesced: num('coalesced'),
      entries,
      hitRate: hits + misses ? Math.round((hits / (hits + misses)) * 10000) / 10000 : 0,
      savedMs: Math.round(num('savedMs')),
    };
  }
}
