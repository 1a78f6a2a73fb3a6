import { waitFor } from '../support/http-client';
import { exitOf, QueueKit } from './queue-test-kit';

interface FailedRow {
  id: string;
  queue: string;
  name: string;
  failedAt: string;
  attempts: number;
  reason: string;
}

jest.setTimeout(120000);

describe('failed jobs: retries, queue:failed, queue:retry, queue:forget, queue:flush', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());

  const failedList = async (args: string[] = []): Promise<FailedRow[]> => {
    const r = await kit.cli(['queue:failed', '--json', ...args]);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as FailedRow[];
  };

  it('retries a throwing job with backoff, then lists it as failed with its attempts', async () => {
    const [a] = await kit.probe(['--fail', '--queue=default']);
    const [b] = await kit.probe(['--fail', '--queue=high']);
    const worker = kit.work(['--tries=3', '--backoff=0.1']);
    await kit.waitState('default', a.id, 'failed');
    await kit.waitState('high', b.id, 'failed');
    await worker.stop();
    expect((await kit.job('default', a.id))?.attemptsMade).toBe(3);
    const rows = await failedList();
    expect(rows.map((r) => r.id).sort()).toEqual([`default:${a.id}`, `high:${b.id}`].sort());
    const row = rows.find((r) => r.id === `default:${a.id}`) as FailedRow;
    expect(row).toMatchObject({ queue: 'default', name: 'queue:probe', attempts: 3 });
    expect(row.reason).toContain('asked to fail');
    expect(new Date(row.failedAt).getTime()).toBeGreaterThan(Date.now() - 120000);
    const table = await kit.cli(['queue:failed']);
    expect(table.stdout).toContain(`default:${a.id}`);
    expect(table.stdout).toMatch(/ID\s+Queue\s+Name\s+Failed At\s+Attempts\s+Reason/);
    expect((await failedList(['--queue=high'])).map((r) => r.id)).toEqual([`high:${b.id}`]);
  });

  it('queue:retry puts a failed job back with attempts reset, by the printed id or a plain id with --queue', async () => {
    const target = (await failedList()).find((r) => r.queue === 'default') as FailedRow;
    const id = target.id.split(':')[1];
    let r = await kit.cli(['queue:retry', target.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Pushed ${target.id}`);
    const waiting = await kit.job('default', id);
    expect(await waiting?.getState()).toBe('waiting');
    expect(waiting?.attemptsMade).toBe(0);
    // On a worker it fails again after three fresh attempts, not one.
    const worker = kit.work(['--tries=3', '--backoff=0.05']);
    await waitFor(async () => {
      const job = await kit.job('default', id);
      return job && (await job.getState()) === 'failed' && job.attemptsMade === 3;
    }, 30000);
    await worker.stop();
    r = await kit.cli(['queue:retry', id, '--queue=default']);
    expect(r.code).toBe(0);
    expect(await (await kit.job('default', id))?.getState()).toBe('waiting');
    await kit.queue('default').remove(id);
  });

  it('rejects unknown ids and bad options without changing anything', async () => {
    const before = await failedList();
    let r = await kit.cli(['queue:retry', 'default:999999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not found');
    // Any queue name exists (Laravel creates queues on first use): an empty one has no such job.
    r = await kit.cli(['queue:retry', 'nope:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not found');
    r = await kit.cli(['queue:retry', 'bad name:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a queue name');
    r = await kit.cli(['queue:retry', 'all', '--range=9-3']);
    expect(r.code).toBe(2);
    r = await kit.cli(['queue:forget', 'high:999999']);
    expect(r.code).toBe(1);
    r = await kit.cli(['queue:flush', '--hours=abc']);
    expect(r.code).not.toBe(0);
    expect(await failedList()).toEqual(before);
  });

  it('queue:retry all --range takes only the ids in the range', async () => {
    const jobs = await kit.probe(['--fail', '--queue=default', '--count=3']);
    const worker = kit.work(['--tries=1', '--queue=default']);
    for (const j of jobs) await kit.waitState('default', j.id, 'failed');
    await worker.stop();
    const ids = jobs.map((j) => Number(j.id)).sort((a, b) => a - b);
    const r = await kit.cli(['queue:retry', 'all', '--queue=default', `--range=${ids[0]}-${ids[1]}`]);
    expect(r.code).toBe(0);
    expect(await (await kit.job('default', String(ids[0])))?.getState()).toBe('waiting');
    expect(await (await kit.job('default', String(ids[1])))?.getState()).toBe('waiting');
    expect(await (await kit.job('default', String(ids[2])))?.getState()).toBe('failed');
    await kit.queue('default').drain();
  });

  it('queue:forget deletes one; queue:prune-failed and queue:flush --hours keep recent ones; queue:flush deletes the rest', async () => {
    const rows = await failedList();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    let r = await kit.cli(['queue:forget', rows[0].id]);
    expect(r.code).toBe(0);
    expect((await failedList()).map((x) => x.id)).not.toContain(rows[0].id);
    r = await kit.cli(['queue:prune-failed', '--hours=24']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 failed job(s) deleted');
    r = await kit.cli(['queue:flush', '--hours=1']);
    expect(r.code).toBe(0);
    expect((await failedList()).length).toBe(rows.length - 1);
    r = await kit.cli(['queue:flush']);
    expect(r.code).toBe(0);
    expect(await failedList()).toEqual([]);
  });

  it('a worker with --max-jobs exits 0 after that many jobs', async () => {
    await kit.probe(['--count=5']);
    const worker = kit.work(['--max-jobs=2']);
    expect((await exitOf(worker)).code).toBe(0);
    expect(worker.logs()).toContain('after 2 job(s)');
    expect(await kit.queue('default').getWaitingCount()).toBe(3);
    await kit.queue('default').drain();
  });

  it('fails an attempt that outlives --timeout', async () => {
    const [j] = await kit.probe(['--sleep=20000']);
    const worker = kit.work(['--timeout=1', '--tries=1']);
    const job = await kit.waitState('default', j.id, 'failed');
    expect(job.failedReason).toContain('timeout');
    await worker.stop();
  });
});
