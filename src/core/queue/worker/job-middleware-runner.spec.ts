import type { Job } from 'bullmq';
import type { RedisClient } from '../../redis/redis.factory';
import { rateLimited, ReleaseJob, throttlesExceptions, withoutOverlapping } from '../job-middleware';
import { JobMiddlewareRunner } from './job-middleware-runner';

/** The few Redis commands the runner uses, in memory (expiry in ms, on a fixed clock). */
class FakeRedis {
  readonly values = new Map<string, string>();
  readonly expiry = new Map<string, number>();

  set(key: string, value: string, _ex: string, seconds: number, nx: string) {
    if (nx === 'NX' && this.values.has(key)) return Promise.resolve(null);
    this.values.set(key, value);
    this.expiry.set(key, seconds * 1000);
    return Promise.resolve('OK');
  }
  get(key: string) {
    return Promise.resolve(this.values.get(key) ?? null);
  }
  del(key: string) {
    this.expiry.delete(key);
    return Promise.resolve(this.values.delete(key) ? 1 : 0);
  }
  eval(_script: string, _n: number, key: string, owner: string) {
    return this.values.get(key) === owner ? this.del(key) : Promise.resolve(0);
  }
  pttl(key: string) {
    return Promise.resolve(this.values.has(key) ? (this.expiry.get(key) ?? -1) : -2);
  }
  pexpire(key: string, ms: number) {
    this.expiry.set(key, ms);
    return Promise.resolve(1);
  }
  private incrNow(key: string) {
    const n = Number(this.values.get(key) ?? 0) + 1;
    this.values.set(key, String(n));
    return n;
  }
  incr(key: string) {
    return Promise.resolve(this.incrNow(key));
  }
  multi() {
    const ops: Array<() => unknown> = [];
    const chain = {
      incr: (k: string) => (ops.push(() => this.incrNow(k)), chain),
      pttl: (k: string) => (ops.push(() => (this.values.has(k) ? (this.expiry.get(k) ?? -1) : -2)), chain),
      expire: (k: string, s: number) => (ops.push(() => this.expiry.set(k, s * 1000)), chain),
      exec: () => Promise.resolve(ops.map((op) => [null, op()])),
    };
    return chain;
  }
}

const job = { data: { key: 'k' } } as unknown as Job;
const byKey = (j: Job) => (j.data as { key: string }).key;

describe('JobMiddlewareRunner', () => {
  let redis: FakeRedis;
  let runner: JobMiddlewareRunner;
  beforeEach(() => {
    redis = new FakeRedis();
    runner = new JobMiddlewareRunner(redis as unknown as RedisClient, 'p:');
  });

  it('withoutOverlapping releases a second attempt with the same key while the first runs, and frees the lock after', async () => {
    let finish!: () => void;
    const first = runner.run([withoutOverlapping(byKey, { releaseAfterS: 2 })], job, () => new Promise<void>((r) => (finish = r)));
    await new Promise((r) => setImmediate(r));
    await expect(runner.run([withoutOverlapping(byKey, { releaseAfterS: 2 })], job, () => Promise.resolve('second'))).rejects.toMatchObject({ name: 'ReleaseJob', delayMs: 2000 });
    finish();
    await first;
    await expect(runner.run([withoutOverlapping(byKey)], job, () => Promise.resolve('third'))).resolves.toBe('third');
  });

  it('rateLimited lets `allow` attempts through per window and releases the next until the window ends', async () => {
    const spec = [rateLimited(byKey, 2, 5)];
    await runner.run(spec, job, () => Promise.resolve());
    await runner.run(spec, job, () => Promise.resolve());
    const third = runner.run(spec, job, () => Promise.resolve());
    await expect(third).rejects.toBeInstanceOf(ReleaseJob);
    await expect(third).rejects.toMatchObject({ delayMs: 5000 });
  });

  it('throttlesExceptions releases after maxExceptions failures and a success resets the count', async () => {
    const spec = [throttlesExceptions(byKey, 2, 30)];
    const boom = () => Promise.reject(new Error('boom'));
    await runner.run(spec, job, () => Promise.resolve());
    await expect(runner.run(spec, job, boom)).rejects.toThrow('boom');
    await expect(runner.run(spec, job, boom)).rejects.toThrow('boom');
    await expect(runner.run(spec, job, () => Promise.resolve())).rejects.toMatchObject({ name: 'ReleaseJob', delayMs: 30000 });
    redis.values.clear();
    await expect(runner.run(spec, job, () => Promise.resolve('ok'))).resolves.toBe('ok');
  });

  it('runs the attempt untouched without middleware', async () => {
    await expect(runner.run(undefined, job, () => Promise.resolve(7))).resolves.toBe(7);
  });
});
