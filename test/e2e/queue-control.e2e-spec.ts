import { createServer, IncomingMessage, Server } from 'node:http';
import { waitFor } from '../support/http-client';
import { freeLowPort } from '../support/low-port';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A local Slack-style incoming webhook that records what it is sent. */
async function webhookReceiver(): Promise<{ url: string; bodies: Array<Record<string, unknown>>; close: () => Promise<void> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      bodies.push({ ...(JSON.parse(raw) as Record<string, unknown>), contentType: req.headers['content-type'] });
      res.writeHead(200).end('ok');
    });
  });
  const port = await freeLowPort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}/hooks/queue`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

describe('queue control: pause/continue, clear, monitor wait time and webhook, status', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());
  afterEach(async () => {
    for (const q of ['high', 'default', 'emails']) await kit.queue(q).obliterate({ force: true });
  });

  it('queue:pause stops every worker taking that queue, other queues keep going, queue:continue resumes', async () => {
    const workers = [kit.work(['--queue=high,default', '-q']), kit.work(['--queue=high,default', '-q'])];
    await sleep(1500);
    let r = await kit.cli(['queue:pause', 'redis:default']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[redis:default] has been paused');
    const paused = await kit.probe(['--queue=default', '--count=3']);
    const [high] = await kit.probe(['--queue=high']);
    await kit.waitState('high', high.id, 'completed', 10000);
    await sleep(1500);
    for (const p of paused) expect(await (await kit.job('default', p.id))?.getState()).not.toBe('completed');

    r = await kit.cli(['queue:continue', 'default']);
    expect(r.code).toBe(0);
    for (const p of paused) await kit.waitState('default', p.id, 'completed', 10000);
    await Promise.all(workers.map((w) => w.stop()));
  });

  it('queue:clear deletes waiting and delayed jobs only with --force when not on a terminal', async () => {
    await kit.probe(['--queue=default', '--count=4']);
    await kit.queue('default').add('queue:probe', { sleepMs: 0, fail: false }, { delay: 60000 });
    let r = await kit.cli(['queue:clear', '--queue=default']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--force');
    expect(await kit.queue('default').getWaitingCount()).toBe(4);

    r = await kit.cli(['queue:clear', 'redis', '--queue=default', '--force']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Cleared 5 job(s) from the [redis:default] queue.');
    expect(await kit.queue('default').getWaitingCount()).toBe(0);
    expect(await kit.queue('default').getDelayedCount()).toBe(0);
  });

  it('queue:monitor alerts on the oldest waiting job with --max-wait, to admins and to the webhook', async () => {
    const hook = await webhookReceiver();
    try {
      await kit.probe(['--queue=default']);
      await sleep(2200);
      const listener = await kit.listen();
      let r = await kit.cli(['queue:monitor', 'redis:high,redis:default', '--max-wait=60', '--json'], { QUEUE_MONITOR_WEBHOOK_URL: hook.url });
      expect(r.code).toBe(0);
      expect(hook.bodies).toHaveLength(0);

      r = await kit.cli(['queue:monitor', 'redis:high,redis:default', '--max-wait=2', '--json'], { QUEUE_MONITOR_WEBHOOK_URL: hook.url });
      expect(r.code).toBe(1);
      const stats = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
      expect(stats.find((s) => s.queue === 'default')).toMatchObject({ waiting: 1, alert: true, reasons: ['wait'] });
      expect((stats.find((s) => s.queue === 'default')?.oldestWaitingS as number) >= 2).toBe(true);
      expect(stats.find((s) => s.queue === 'high')).toMatchObject({ alert: false, oldestWaitingS: null });
      expect(hook.bodies).toHaveLength(1);
      expect(hook.bodies[0]).toMatchObject({ contentType: 'application/json', code: 'queue_wait', queue: 'default', maxWaitS: 2 });
      expect(hook.bodies[0].text).toMatch(/^Queue default its oldest job has waited \d+s \(max 2s\)$/);
      await waitFor(async () => listener.events.find((e) => e.event === 'system:warning'));
      expect(listener.events.find((e) => e.event === 'system:warning')).toMatchObject({ room: 'admins', payload: { code: 'queue_wait', queue: 'default' } });
      await listener.close();
    } finally {
      await hook.close();
    }
  });

  it('a monitor webhook that is down does not stop the alert or hang the command', async () => {
    await kit.probe(['--queue=default', '--count=2']);
    const r = await kit.cli(['queue:monitor', 'default', '--max=1'], { QUEUE_MONITOR_WEBHOOK_URL: 'http://127.0.0.1:1/hook' });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/default .* ALERT \(max 1\)/);
  });

  it('queue:status lists every live worker of the cluster with what it is doing, and forgets one that stopped', async () => {
    // Long enough to still be running when the table is printed: two CLI starts on a loaded machine took over 4 s (CI).
    const [slow] = await kit.probe(['--queue=emails', '--sleep=10000']);
    const a = kit.work(['--queue=emails', '--name=mailer-1', '-q']);
    const b = kit.work(['--queue=high,default', '--name=main-1', '-q']);
    await kit.waitState('emails', slow.id, 'active', 10000);
    const status = await waitFor(async () => {
      const r = await kit.cli(['queue:status', '--json']);
      const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
      return list.length === 2 && (list.find((w) => w.name === 'mailer-1')?.current as string[]).length === 1 ? list : undefined;
    }, 15000, 300);
    const mailer = status.find((w) => w.name === 'mailer-1');
    expect(mailer).toMatchObject({ pid: a.pid, queues: ['emails'], processed: 0, failed: 0, current: [`emails:${slow.id} queue:probe`], state: 'running' });
    expect(mailer?.memoryMb).toBeGreaterThan(10);
    expect(typeof mailer?.host).toBe('string');
    expect(status.find((w) => w.name === 'main-1')).toMatchObject({ pid: b.pid, queues: ['high', 'default'] });

    const table = await kit.cli(['queue:status']);
    expect(table.stdout).toMatch(/^Name\s+Host\s+PID\s+Queues/);
    expect(table.stdout).toMatch(/mailer-1 .* emails .* queue:probe/);

    await kit.waitState('emails', slow.id, 'completed', 20000);
    await b.stop();
    await waitFor(async () => {
      const list = JSON.parse((await kit.cli(['queue:status', '--json'])).stdout) as Array<Record<string, unknown>>;
      return list.length === 1 && list[0].processed === 1 ? true : undefined;
    }, 15000, 300);
    await a.kill();
    // SIGKILL leaves no goodbye: the entry expires with its TTL.
    await waitFor(async () => ((JSON.parse((await kit.cli(['queue:status', '--json'])).stdout) as unknown[]).length === 0 ? true : undefined), 20000, 500);
    expect((await exitOf(a)).signal).toBe('SIGKILL');
  });
});
