import { ApiProcess, startApi } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';

jest.setTimeout(180_000);

/**
 * Seed 001 (Laravel's scalability phase), example by example: its variables
 * (DB_READ_HOST / DB_WRITE_HOST are how every suite reaches the stack;
 * SESSION_DRIVER=redis is accepted and is what we always do), `/up`, and its
 * artisan lines run as `bin/switchboard` commands. docs/seeds.md points here.
 */
describe('seed 001: the Laravel examples work as written', () => {
  // The seed's `emails` queue: the queue list is configuration (QUEUE_NAMES).
  const kit = new QueueKit({ QUEUE_NAMES: 'high,default,emails' });
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApi({ ...kit.env, SESSION_DRIVER: 'redis' });
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });

  it('answers the load balancer’s /up health check', async () => {
    const res = await fetch(`${api.url}/up`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', info: { database_write: { status: 'up' }, database_read: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('runs queue:work --queue=default,emails --tries=3, then queue:failed, queue:retry <id>, queue:retry all and queue:flush', async () => {
    const [job] = await kit.probe(['--queue=emails', '--fail']);
    const worker = kit.work(['--queue=default,emails', '--tries=3']);
    try {
      // Laravel's default backoff here is QUEUE_BACKOFF=2 (2 s, then 4 s) before the third attempt fails.
      await kit.waitState('emails', job.id, 'failed', 30000);
      expect((await kit.job('emails', job.id))?.attemptsMade).toBe(3);
    } finally {
      await worker.stop();
    }
    const listed = await kit.cli(['queue:failed']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`emails:${job.id}`);

    const one = await kit.cli(['queue:retry', `emails:${job.id}`]);
    expect(one.code).toBe(0);
    expect(await (await kit.job('emails', job.id))?.getState()).toBe('waiting');
    await kit.queue('emails').remove(job.id);

    const [again] = await kit.probe(['--queue=high', '--fail']);
    const second = kit.work(['--queue=high,default', '--tries=1']);
    try {
      await kit.waitState('high', again.id, 'failed', 30000);
    } finally {
      await second.stop();
    }
    const all = await kit.cli(['queue:retry', 'all']);
    expect(all.code).toBe(0);
    expect(await (await kit.job('high', again.id))?.getState()).toBe('waiting');
    await kit.queue('high').remove(again.id);

    const [third] = await kit.probe(['--queue=default', '--fail']);
    const third_ = kit.work(['--queue=high,default', '--tries=1']);
    try {
      await kit.waitState('default', third.id, 'failed', 30000);
    } finally {
      await third_.stop();
    }
    const flushed = await kit.cli(['queue:flush']);
    expect(flushed.code).toBe(0);
    await waitFor(async () => (await kit.job('default', third.id)) === undefined || (await kit.job('default', third.id)) === null);
    expect((await kit.cli(['queue:failed', '--json'])).stdout.trim()).toBe('[]');
  });

  it('runs queue:monitor redis:default,redis:high with Laravel’s connection prefix', async () => {
    const r = await kit.cli(['queue:monitor', 'redis:default,redis:high']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/default/);
    expect(r.stdout).toMatch(/high/);
  });
});
