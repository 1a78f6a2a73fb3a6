import { waitFor } from '../support/http-client';
import { spawnCli } from '../support/api-process';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(180000);

interface Run {
  task: string;
  tick: string;
  pid: number;
  exitCode: number | null;
}

/** Laravel's scheduler with onOneServer: three schedule:work processes, one run per tick. */
describe('schedule:work / schedule:list', () => {
  const kit = new QueueKit();
  afterAll(async () => {
    await kit.queue('switchboard-schedule').obliterate({ force: true });
    await kit.close();
  });

  it('lists the schedule held in code', async () => {
    const r = await kit.cli(['schedule:list', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { task: 'queue:prune-failed --hours=168', cron: '0 0 * * *', frequency: 'daily', next: null },
      { task: 'queue:monitor high,default', cron: '* * * * *', frequency: 'everyMinute', next: null },
      { task: 'queue:prune-batches --hours=48 --unfinished=72 --cancelled=72', cron: '0 0 * * *', frequency: 'daily', next: null },
      { task: 'notifications:prune', cron: '0 3 * * *', frequency: "dailyAt('03:00')", next: null },
      { task: 'presence:prune', cron: '*/5 * * * *', frequency: 'everyFiveMinutes', next: null },
    ]);
  });

  it('runs each task once per tick across three schedulers, and stops on SIGTERM', async () => {
    const schedulers = [0, 1, 2].map(() => spawnCli(['schedule:work'], kit.env));
    const runs = async () => (await kit.redis.lrange(`${kit.prefix}schedule:runs`, 0, -1)).map((r) => JSON.parse(r) as Run);
    await waitFor(async () => ((await kit.queue('switchboard-schedule').getJobSchedulersCount()) === 5 ? true : undefined), 90000, 200);
    // The every-minute task fires at the next minute boundary.
    const first = await waitFor(async () => (await runs()).find((r) => r.task === 'queue:monitor high,default'), 75000, 500);
    await new Promise((r) => setTimeout(r, 5000));
    const sameTick = (await runs()).filter((r) => r.tick === first.tick);
    expect(sameTick).toHaveLength(1);
    expect(sameTick[0].exitCode).toBe(0);
    expect(schedulers.map((s) => s.pid)).toContain(sameTick[0].pid);

    const list = JSON.parse((await kit.cli(['schedule:list', '--json'])).stdout) as Array<{ task: string; next: string | null }>;
    const next = Date.parse(list.find((t) => t.task === 'queue:monitor high,default')?.next ?? '');
    expect(next - Date.now()).toBeLessThanOrEqual(60000);
    expect(new Date(next).getUTCSeconds()).toBe(0);

    for (const s of schedulers) s.child.kill('SIGTERM');
    for (const s of schedulers) expect((await exitOf(s, 20000)).code).toBe(0);
  });
});
