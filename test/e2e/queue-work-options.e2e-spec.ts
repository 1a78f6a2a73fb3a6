import { waitFor } from '../support/http-client';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

const JOB_LINE = (state: string) => new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d queue:probe default:\\d+ \\.{3,} ${state}`, 'm');

/** Laravel's queue:work options, against real workers and Redis. */
describe('queue:work options as artisan has them', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());
  afterEach(async () => {
    await kit.redis.del(`${kit.prefix}maintenance`);
    for (const q of ['high', 'default']) await kit.queue(q).obliterate({ force: true });
  });

  it('--backoff takes seconds, as a list per retry', async () => {
    const [probe] = await kit.probe(['--fail', '--queue=default']);
    const worker = kit.work(['--queue=default', '--tries=3', '--backoff=1,3']);
    const starts: number[] = [];
    await waitFor(async () => {
      const job = await kit.job('default', probe.id);
      if (job?.processedOn && !starts.includes(job.processedOn)) starts.push(job.processedOn);
      return (await job?.getState()) === 'failed' ? true : undefined;
    }, 20000, 25);
    await worker.stop();
    expect(starts).toHaveLength(3);
    const gaps = [starts[1] - starts[0], starts[2] - starts[1]];
    expect(gaps[0]).toBeGreaterThanOrEqual(1000);
    expect(gaps[0]).toBeLessThan(2500);
    expect(gaps[1]).toBeGreaterThanOrEqual(3000);
    expect(gaps[1]).toBeLessThan(4500);
  });

  it('refuses a backoff in another unit with a usage error', async () => {
    const r = await kit.cli(['queue:work', '--backoff=3ms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--backoff must be seconds');
  });

  it('exits with code 12 after a job once over --memory, leaving the rest queued', async () => {
    await kit.probe(['--count=3']);
    const worker = kit.work(['--queue=default', '--memory=1']);
    expect((await exitOf(worker)).code).toBe(12);
    expect(await kit.queue('default').getCompletedCount()).toBe(1);
    expect(await kit.queue('default').getWaitingCount()).toBe(2);
  });

  it('exits when a handler ignores its abort signal past --timeout, and the job is retried', async () => {
    const [probe] = await kit.probe(['--sleep=60000', '--ignore-abort']);
    const worker = kit.work(['--queue=default', '--timeout=1', '--tries=2', '--backoff=0']);
    const started = Date.now();
    expect((await exitOf(worker, 15000)).code).toBe(1);
    expect(Date.now() - started).toBeLessThan(12000);
    const job = await kit.job('default', probe.id);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('timeout');
    expect(['waiting', 'delayed']).toContain(await job?.getState());
  });

  it('--once takes one job and exits 0; --rest pauses between jobs', async () => {
    await kit.probe(['--count=3']);
    let worker = kit.work(['--queue=default', '--once']);
    expect((await exitOf(worker)).code).toBe(0);
    expect(await kit.queue('default').getCompletedCount()).toBe(1);

    worker = kit.work(['--queue=default', '--rest=1', '--stop-when-empty']);
    expect((await exitOf(worker)).code).toBe(0);
    const done = (await kit.queue('default').getJobs(['completed'])).map((j) => j.processedOn as number).sort((a, b) => a - b);
    expect(done).toHaveLength(3);
    expect(done[2] - done[1]).toBeGreaterThanOrEqual(1000);
  });

  it('prints a line per job as artisan does, with --name in logs, and nothing with -q', async () => {
    await kit.probe(['--count=2']);
    const worker = kit.work(['--queue=default', '--stop-when-empty', '--name=reports-1'], { LOG_LEVEL: 'info' });
    expect((await exitOf(worker)).code).toBe(0);
    const out = worker.logs();
    expect(out).toMatch(JOB_LINE('RUNNING$'));
    expect(out).toMatch(JOB_LINE('DONE \\d+\\.\\ds$'));
    expect(out).toContain('Worker reports-1 processing jobs from default.');
    expect(out).toMatch(/"name":"reports-1".*"msg":"worker started"/);

    await kit.probe(['--count=1']);
    const quiet = kit.work(['--queue=default', '--stop-when-empty', '-q']);
    expect((await exitOf(quiet)).code).toBe(0);
    expect(quiet.logs()).not.toMatch(JOB_LINE('(RUNNING|DONE)'));
    expect(await kit.queue('default').getCompletedCount()).toBe(3);
  });

  it('takes no job in maintenance mode unless started with --force, and resumes when it ends', async () => {
    await kit.redis.set(`${kit.prefix}maintenance`, JSON.stringify({ since: Date.now() }));
    const [held] = await kit.probe([]);
    const worker = kit.work(['--queue=default']);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await (await kit.job('default', held.id))?.getState()).toBe('waiting');

    const forced = kit.work(['--queue=default', '--force', '--once']);
    expect((await exitOf(forced)).code).toBe(0);
    expect(await (await kit.job('default', held.id))?.getState()).toBe('completed');

    const [later] = await kit.probe([]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await (await kit.job('default', later.id))?.getState()).toBe('waiting');
    await kit.redis.del(`${kit.prefix}maintenance`);
    await kit.waitState('default', later.id, 'completed', 10000);
    await worker.stop();
  });
});
