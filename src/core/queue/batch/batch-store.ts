import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis.factory';
import { BatchView, batchView, FAILED_IDS_SHOWN, UPDATE_LUA } from './batch';

/** One batch's keys; the `{id}` hash tag keeps them in one Redis Cluster slot (the script touches all three). */
export function batchKeys(prefix: string, id: string): [hash: string, done: string, failed: string] {
  const base = `${prefix}batch:{${id}}`;
  return [base, `${base}:done`, `${base}:failed`];
}
/** Sorted set of batch ids by creation time (ms), for queue:prune-batches. */
export const batchesIndexKey = (prefix: string) => `${prefix}batches`;

export type BatchOp = 'success' | 'failure' | 'skip' | 'cancel' | 'shrink' | 'queued';

/** The hash after an update, and how many of its jobs are failed now. */
export interface BatchState {
  hash: Record<string, string>;
  failed: number;
}

export interface NewBatch {
  name: string;
  ownerId?: number;
  allowFailures: boolean;
  total: number;
  /** Where its then/catch/finally jobs go. */
  queue: string;
}

export interface PruneCutoffs {
  /** Finished batches finished before this (ms). */
  finishedBefore?: number;
  /** Unfinished batches created before this. */
  unfinishedBefore?: number;
  /** Cancelled batches created before this. */
  cancelledBefore?: number;
}

type ScriptedRedis = RedisClient & { batchUpdate(...args: string[]): Promise<[string[], number] | null> };

/** Batches in Redis, as Laravel's job_batches table (why Redis: docs/architecture.md). */
export class BatchStore {
  private readonly redis: ScriptedRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    const r = redis as ScriptedRedis;
    if (typeof r.batchUpdate !== 'function') r.defineCommand('batchUpdate', { numberOfKeys: 3, lua: UPDATE_LUA });
    this.redis = r;
  }

  async create(b: NewBatch): Promise<string> {
    const id = randomUUID();
    const now = Date.now();
    await this.redis.hset(batchKeys(this.prefix, id)[0], {
      name: b.name,
      owner: b.ownerId === undefined ? '' : String(b.ownerId),
      total: String(b.total),
      pending: String(b.total),
      skipped: '0',
      allowFailures: b.allowFailures ? '1' : '0',
      queue: b.queue,
      createdAt: String(now),
    });
    await this.redis.zadd(batchesIndexKey(this.prefix), now, id);
    return id;
  }

  /** Applies `op` (UPDATE_LUA); null when the batch does not exist (never did, or pruned). */
  async update(id: string, op: BatchOp, ref = '', extra = ''): Promise<BatchState | null> {
    const reply = await this.redis.batchUpdate(...batchKeys(this.prefix, id), op, ref, String(Date.now()), extra);
    if (!reply) return null;
    const [flat, failed] = reply;
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]] = flat[i + 1];
    return { hash, failed: Number(failed) };
  }

  async find(id: string): Promise<BatchView | null> {
    const [key, , failedKey] = batchKeys(this.prefix, id);
    const [hash, failedIds, failed] = await Promise.all([this.redis.hgetall(key), this.redis.srandmember(failedKey, FAILED_IDS_SHOWN), this.redis.scard(failedKey)]);
    if (!hash.total) return null;
    return batchView(id, hash, failed, failedIds);
  }

  async isCancelled(id: string): Promise<boolean> {
    return (await this.redis.hexists(batchKeys(this.prefix, id)[0], 'cancelledAt')) === 1;
  }

  async firstError(id: string): Promise<string | null> {
    return this.redis.hget(batchKeys(this.prefix, id)[0], 'firstError');
  }

  failedRefs(id: string): Promise<string[]> {
    return this.redis.smembers(batchKeys(this.prefix, id)[2]);
  }

  /** Laravel's prune / pruneUnfinished / pruneCancelled in one pass; returns how many batches went. */
  async prune(cutoffs: PruneCutoffs): Promise<number> {
    const limits = [cutoffs.finishedBefore, cutoffs.unfinishedBefore, cutoffs.cancelledBefore].filter((n): n is number => n !== undefined);
    if (!limits.length) return 0;
    // Every rule implies "created before its cutoff": only those batches are read.
    const latest = Math.max(...limits);
    const index = batchesIndexKey(this.prefix);
    let removed = 0;
    let kept = 0;
    for (;;) {
      const ids = await this.redis.zrangebyscore(index, '-inf', latest, 'LIMIT', kept, 500);
      if (!ids.length) return removed;
      for (const id of ids) {
        const keys = batchKeys(this.prefix, id);
        const [created, finished, cancelled] = (await this.redis.hmget(keys[0], 'createdAt', 'finishedAt', 'cancelledAt')).map((v) => (v === null ? null : Number(v)));
        const gone = created === null;
        const prune =
          gone ||
          (finished !== null && cutoffs.finishedBefore !== undefined && finished < cutoffs.finishedBefore) ||
          (finished === null && cutoffs.unfinishedBefore !== undefined && created < cutoffs.unfinishedBefore) ||
          (cancelled !== null && cutoffs.cancelledBefore !== undefined && created < cutoffs.cancelledBefore);
        if (!prune) {
          kept++;
          continue;
        }
        await this.redis.del(...keys);
        await this.redis.zrem(index, id);
        if (!gone) removed++;
      }
    }
  }
}
