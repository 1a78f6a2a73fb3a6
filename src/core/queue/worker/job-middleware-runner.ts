import type { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis.factory';
import { JobMiddlewareSpec, ReleaseJob } from '../job-middleware';

/** Deletes the lock only if it is still ours (it may have expired and been taken by another attempt). */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Applies a handler's middleware around one attempt, with Redis keys shared by every worker. */
export class JobMiddlewareRunner {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async run(specs: readonly JobMiddlewareSpec[] | undefined, job: Job, attempt: () => Promise<unknown>): Promise<unknown> {
    if (!specs?.length) return attempt();
    const [first, ...rest] = specs;
    return this.apply(first, job, () => this.run(rest, job, attempt));
  }

  private async apply(spec: JobMiddlewareSpec, job: Job, next: () => Promise<unknown>): Promise<unknown> {
    const key = `${this.prefix}job-mw:${spec.kind}:${spec.key(job)}`;
    switch (spec.kind) {
      case 'withoutOverlapping': {
        const owner = randomUUID();
        if ((await this.redis.set(key, owner, 'EX', spec.expiresAfterS, 'NX')) !== 'OK') throw new ReleaseJob(spec.releaseAfterS * 1000, `another attempt holds ${key}`);
        try {
          return await next();
        } finally {
          await this.redis.eval(RELEASE_LOCK, 1, key, owner).catch(() => undefined);
        }
      }
      case 'rateLimited': {
        const [[, count], [, ttl]] = (await this.redis.multi().incr(key).pttl(key).exec()) as [[null, number], [null, number]];
        if (ttl < 0) await this.redis.pexpire(key, spec.everyS * 1000);
        if (count > spec.allow) throw new ReleaseJob(ttl > 0 ? ttl : spec.everyS * 1000, `rate limit of ${spec.allow} per ${spec.everyS}s reached for ${key}`);
        return next();
      }
      case 'throttlesExceptions': {
        const failures = Number(await this.redis.get(key)) || 0;
        if (failures >= spec.maxExceptions) {
          const ttl = await this.redis.pttl(key);
          throw new ReleaseJob(ttl > 0 ? ttl : spec.decayS * 1000, `${failures} exceptions within ${spec.decayS}s for ${key}`);
        }
        try {
          const result = await next();
          await this.redis.del(key);
          return result;
        } catch (err) {
          if (!(err instanceof ReleaseJob)) await this.redis.multi().incr(key).expire(key, spec.decayS).exec();
          throw err;
        }
      }
    }
  }
}
