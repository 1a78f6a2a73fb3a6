import type { Job } from 'bullmq';
import { waitFor } from '../support/http-client';
import { freeLowPort } from '../support/low-port';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

const byStart = (jobs: Array<Job | undefined>) => (jobs as Job[]).sort((x, y) => (x.processedOn as number) - (y.processedOn as number));

/** Laravel's ShouldBeUnique, WithoutOverlapping, RateLimited, ThrottlesExceptions, on real workers and Redis. */
describe('job middleware', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());
  afterEach(async () => {
    await kit.queue('default').obliterate({ force: true });
  });

  it('unique: one job per key while it is queued or running', async () => {
    const ids = await kit.probe(['--as=unique', '--key=report-7', '--count=3']);
    expect(new Set(ids.map((j) => j.id)).size).toBe(1);
    expect(await kit.queue('default').getWaitingCount()).toBe(1);
    const other = await kit.probe(['--as=unique', '--key=report-8']);
    expect(other[0].id).not.toBe(ids[0].id);
    const worker = kit.work(['--queue=default', '--stop-when-empty', '-q']);
    expect((await exitOf(worker)).code).toBe(0);
    const [after] = await kit.probe(['--as=unique', '--key=report-7']);
    expect(after.id).not.toBe(ids[0].id);
  });

  it('withoutOverlapping: jobs with one key never run at the same time, and a release uses no attempt', async () => {
    const ids = await kit.probe(['--as=exclusive', '--key=project-1', '--sleep=700', '--count=3']);
    const worker = kit.work(['--queue=default', '--concurrency=3', '--tries=1']);
    await Promise.all(ids.map((j) => kit.waitState('default', j.id, 'completed', 30000)));
    await worker.stop();
    const jobs = byStart(await Promise.all(ids.map((j) => kit.job('default', j.id))));
    for (let i = 1; i < jobs.length; i++) expect(jobs[i].processedOn as number).toBeGreaterThanOrEqual(jobs[i - 1].finishedOn as number);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1, 1, 1]);
    expect(worker.logs()).not.toMatch(/FAIL/);
  });

  it('rateLimited: at most 2 per 5 s per key, the rest wait their turn', async () => {
    const ids = await kit.probe(['--as=limited', '--key=tenant-1', '--count=3']);
    const worker = kit.work(['--queue=default', '--concurrency=3', '--tries=1']);
    await Promise.all(ids.map((j) => kit.waitState('default', j.id, 'completed', 30000)));
    await worker.stop();
    const jobs = byStart(await Promise.all(ids.map((j) => kit.job('default', j.id))));
    expect((jobs[1].processedOn as number) - (jobs[0].processedOn as number)).toBeLessThan(2000);
    expect((jobs[2].processedOn as number) - (jobs[0].processedOn as number)).toBeGreaterThanOrEqual(3500);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1, 1, 1]);
  });

  it('throttlesExceptions: after 2 failures in 5 s the next attempt waits for the decay', async () => {
    const ids = await kit.probe(['--as=throttled', '--key=api-x', '--fail', '--count=3']);
    const worker = kit.work(['--queue=default', '--tries=1']);
    await Promise.all(ids.map((j) => kit.waitState('default', j.id, 'failed', 30000)));
    await worker.stop();
    const jobs = byStart(await Promise.all(ids.map((j) => kit.job('default', j.id))));
    expect((jobs[2].processedOn as number) - (jobs[1].finishedOn as number)).toBeGreaterThanOrEqual(3500);
    expect(worker.logs()).toMatch(/queue:probe:throttled default:\d+ \.+ RELEASED \+\d/);
    expect(jobs.map((j) => j.attemptsMade)).toEqual([1, 1, 1]);
  });

  it('chain: jobs run one after another in order, and a failure stops the rest', async () => {
    const ids = await kit.probe(['--chain', '--count=3', '--sleep=200']);
    expect(ids).toHaveLength(3);
    const worker = kit.work(['--queue=default', '--concurrency=3', '--tries=1']);
    await kit.waitState('default', ids[2].id, 'completed', 20000);
    const jobs = await Promise.all(ids.map((j) => kit.job('default', j.id)));
    for (let i = 1; i < 3; i++) expect(jobs[i]?.processedOn as number).toBeGreaterThanOrEqual(jobs[i - 1]?.finishedOn as number);

    const failing = await kit.probe(['--chain', '--count=3', '--fail']);
    await kit.waitState('default', failing[1].id, 'failed', 20000);
    await kit.waitState('default', failing[2].id, 'failed', 20000);
    expect(await (await kit.job('default', failing[0].id))?.getState()).toBe('completed');
    const stopped = await kit.job('default', failing[2].id);
    expect(stopped?.failedReason).toMatch(/child/i);
    // It never ran: the worker printed no line for it.
    expect(worker.logs()).toContain(`default:${failing[1].id} `);
    expect(worker.logs()).not.toContain(`default:${failing[2].id} `);
    await worker.stop();
  });

  it('records queue_job_wait_seconds per queue on the worker', async () => {
    const port = await freeLowPort();
    await kit.probe(['--count=4']);
    const worker = kit.work(['--queue=default', '-q'], { METRICS_PORT: String(port) });
    const text = await waitFor(async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined))?.text();
      return body && /^queue_job_wait_seconds_count\{queue="default"\} 4$/m.test(body) ? body : undefined;
    }, 20000, 300);
    expect(text).toMatch(/^queue_job_wait_seconds_bucket\{le="300",queue="default"\} 4$/m);
    await worker.stop();
  });
});
