import type { Job } from 'bullmq';
import type { JobContext, JobHandler } from '../job-handlers';

export class JobTimeoutError extends Error {
  constructor(
    seconds: number,
    /** Resolves when the handler itself returns or throws (it may never: see QueueWorker.abandonIfStuck). */
    readonly handlerSettled: Promise<void>,
  ) {
    super(`Job exceeded the ${seconds}s timeout`);
    this.name = 'JobTimeoutError';
  }
}

export interface AttemptOptions {
  queue: string;
  /** Seconds; 0: none. */
  timeoutS: number;
  /** Called on ctx.progress after the job's progress is stored (job:progress for announced jobs). */
  onProgress?: (percent: number, extra?: Parameters<JobContext['progress']>[1]) => Promise<void>;
}

/**
 * One attempt of a job: the handler with its context, raced against --timeout. At the timeout the
 * attempt rejects with JobTimeoutError and ctx.signal aborts; the handler is expected to stop
 * (the contract in docs/queues.md).
 */
export async function runAttempt(handler: JobHandler, job: Job, opts: AttemptOptions): Promise<unknown> {
  // The AbortController is made only when a handler looks at ctx.signal (most never do; it costs per job).
  let controller: AbortController | undefined;
  let timedOut = false;
  const ctx: JobContext = {
    queue: opts.queue,
    attempt: job.attemptsMade + 1,
    get signal() {
      controller ??= new AbortController();
      if (timedOut) controller.abort();
      return controller.signal;
    },
    progress: async (percent, extra) => {
      await job.updateProgress(percent);
      await opts.onProgress?.(percent, extra);
    },
  };
  const timeoutS = opts.timeoutS;
  if (!timeoutS) return handler.run(job, ctx);
  let timer: NodeJS.Timeout | undefined;
  const running = handler.run(job, ctx);
  try {
    return await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          controller?.abort();
          reject(new JobTimeoutError(timeoutS, running.then(noop, noop)));
        }, timeoutS * 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}
