import { UnrecoverableError } from 'bullmq';
import type { JobHandler } from './job-handlers';

export const PROBE_JOB = 'queue:probe';

export interface ProbeJob {
  sleepMs: number;
  fail: boolean;
  /** Keeps sleeping after ctx.signal aborts: a drill for the --timeout contract (the worker must give up its process). */
  ignoreAbort?: boolean;
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
