import type { Job } from 'bullmq';

/**
 * Laravel's job middleware, declared on a handler (`JobHandlers.register(name, { run, middleware: [...] })`)
 * and applied by the worker (worker/job-middleware-runner.ts) around each attempt. Keys are per
 * job (a user, a project): a function of the job.
 */
export type JobKey = (job: Job) => string;

export type JobMiddlewareSpec =
  /** One attempt per key at a time; others are released back (not counted as attempts). */
  | { kind: 'withoutOverlapping'; key: JobKey; releaseAfterS: number; expiresAfterS: number }
  /** At most `allow` attempts per `everyS` seconds per key; others are released until the window ends. */
  | { kind: 'rateLimited'; key: JobKey; allow: number; everyS: number }
  /** After `maxExceptions` failures within `decayS` per key, attempts are released until the decay ends. */
  | { kind: 'throttlesExceptions'; key: JobKey; maxExceptions: number; decayS: number };

/** Laravel's `new WithoutOverlapping($key)` (releaseAfter 0: straight back to the queue; the lock expires after 5 min). */
export const withoutOverlapping = (key: JobKey, opts: { releaseAfterS?: number; expiresAfterS?: number } = {}): JobMiddlewareSpec => ({
  kind: 'withoutOverlapping',
  key,
  releaseAfterS: opts.releaseAfterS ?? 0,
  expiresAfterS: opts.expiresAfterS ?? 300,
});

/** Laravel's `new RateLimited('key')` with `Limit::perMinute(n)` written as allow n every 60 s. */
export const rateLimited = (key: JobKey, allow: number, everyS: number): JobMiddlewareSpec => ({ kind: 'rateLimited', key, allow, everyS });

/** Laravel's `new ThrottlesExceptions(maxExceptions, decaySeconds)`. */
export const throttlesExceptions = (key: JobKey, maxExceptions: number, decayS: number): JobMiddlewareSpec => ({ kind: 'throttlesExceptions', key, maxExceptions, decayS });

/**
 * Thrown by a middleware: the job goes back to its queue, delayed, without using an attempt
 * (Laravel's `$this->release($seconds)`; BullMQ's moveToDelayed with skipAttempt).
 */
export class ReleaseJob extends Error {
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'ReleaseJob';
  }
}
