import { UnrecoverableError } from 'bullmq';
import type { Job } from 'bullmq';
import type { BatchCallbackSet } from './batch/batch-callbacks';
import type { JobHandler } from './job-handlers';
import { rateLimited, throttlesExceptions, withoutOverlapping } from './job-middleware';

export const PROBE_JOB = 'queue:probe';

export interface ProbeJob {
  sleepMs: number;
  fail: boolean;
  /** Keeps sleeping after ctx.signal aborts: a drill for the --timeout contract (the worker must give up its process). */
  ignoreAbort?: boolean;
  /** The key of the middleware variants (queue:probe --as=... --key=...). */
  key?: string;
  /** The owner (queue:probe --owner): job:* events go to their user room. */
  userId?: number;
}

/** queue:probe's diagnostic job: sleeps, then succeeds or throws (retried like any job). */
export const probeHandler: JobHandler<ProbeJob, { sleptMs: number }> = {
  async run(job, ctx) {
    const sleepMs = Math.max(0, Math.min(Number(job.data.sleepMs) || 0, 3600_000));
    if (sleepMs) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, sleepMs);
        if (job.data.ignoreAbort === true) return;
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new UnrecoverableError('probe aborted'));
        });
      });
    }
    if (job.data.fail) throw new Error('queue:probe was asked to fail (--fail)');
    return { sleptMs: sleepMs };
  },
};

const keyOf = (job: Job) => String((job.data as ProbeJob).key ?? 'probe');

/**
 * The probe under each of Laravel's job middleware, so an operator can drill them on a live stack
 * (`queue:probe --as=exclusive --key=k --count=3`): unique (ShouldBeUnique), exclusive
 * (WithoutOverlapping), limited (RateLimited: 2 per 5 s), throttled (ThrottlesExceptions: 2 per 5 s).
 */
export const PROBE_VARIANTS: Record<string, JobHandler<ProbeJob, { sleptMs: number }>> = {
  unique: { ...probeHandler, uniqueBy: (data) => String(data.key ?? 'probe') },
  exclusive: { ...probeHandler, middleware: [withoutOverlapping(keyOf, { releaseAfterS: 1 })] },
  limited: { ...probeHandler, middleware: [rateLimited(keyOf, 2, 5)] },
  throttled: { ...probeHandler, middleware: [throttlesExceptions(keyOf, 2, 5)] },
};

/**
 * queue:probe --batch's then/catch/finally: one line each on the worker's stdout, so an operator
 * (and the e2e test) sees which ran.
 */
export const PROBE_BATCH_CALLBACKS: BatchCallbackSet = {
  then: async (b) => void process.stdout.write(`queue:probe batch ${b.id}: then (${b.processedJobs}/${b.totalJobs} processed)\n`),
  catch: async (b, error) => void process.stdout.write(`queue:probe batch ${b.id}: catch (${error})\n`),
  finally: async (b) => void process.stdout.write(`queue:probe batch ${b.id}: finally (${b.failedJobs} failed, ${b.skippedJobs} skipped)\n`),
};
