import type { Job } from 'bullmq';
import type { JobHandler } from '../job-handlers';
import { JobTimeoutError, runAttempt } from './job-attempt';

const fakeJob = (attemptsMade = 0) => {
  const progress: number[] = [];
  const job = { attemptsMade, updateProgress: async (p: number) => void progress.push(p) } as unknown as Job;
  return { job, progress };
};

describe('runAttempt', () => {
  afterEach(() => jest.useRealTimers());

  it("passes the handler's result through and numbers the attempt from 1", async () => {
    const { job } = fakeJob(2);
    const handler: JobHandler = { run: async (_j, ctx) => `attempt ${ctx.attempt} on ${ctx.queue}` };
    expect(await runAttempt(handler, job, { queue: 'high', timeoutS: 0 })).toBe('attempt 3 on high');
  });

  it('rejects with JobTimeoutError at --timeout and aborts the signal the handler holds', async () => {
    jest.useFakeTimers();
    const { job } = fakeJob();
    let signal: AbortSignal | undefined;
    const handler: JobHandler = {
      run: (_j, ctx) => {
        signal = ctx.signal;
        return new Promise(() => undefined); // ignores the signal: never settles
      },
    };
    const attempt = runAttempt(handler, job, { queue: 'default', timeoutS: 2 });
    const outcome = attempt.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1999);
    expect(signal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await outcome).toBeInstanceOf(JobTimeoutError);
    expect(signal?.aborted).toBe(true);
  });

  it('hands an already aborted signal to a handler that first asks for it after the timeout', async () => {
    jest.useFakeTimers();
    const { job } = fakeJob();
    let late: AbortSignal | undefined;
    const handler: JobHandler = {
      run: () =>
        new Promise((resolve) =>
          setTimeout(() => {
            resolve(undefined);
          }, 5000),
        ),
    };
    const ctxHandler: JobHandler = {
      run: (j, ctx) => {
        setTimeout(() => (late = ctx.signal), 1500);
        return handler.run(j, ctx);
      },
    };
    const outcome = runAttempt(ctxHandler, job, { queue: 'default', timeoutS: 1 }).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1600);
    expect(await outcome).toBeInstanceOf(JobTimeoutError);
    expect(late?.aborted).toBe(true);
  });

  it('stores progress on the job, then reports it', async () => {
    const { job, progress } = fakeJob();
    const reported: number[] = [];
    const handler: JobHandler = {
      run: async (_j, ctx) => {
        await ctx.progress(40);
        await ctx.progress(100);
      },
    };
    await runAttempt(handler, job, { queue: 'default', timeoutS: 0, onProgress: async (p) => void reported.push(p) });
    expect(progress).toEqual([40, 100]);
    expect(reported).toEqual([40, 100]);
  });
});
