import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApiProcess, ManagedProcess, ROOT, startApi } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { freeLowPort } from '../support/low-port';
import { stackEnv } from '../support/stack';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(180000);

/** What a newcomer found: silent queue rooms, empty queue metrics on the api, npm run up dying on queue:restart. */
describe('queue visibility and npm run up', () => {
  const kit = new QueueKit();
  let api: ApiProcess | undefined;
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });
  afterEach(async () => {
    for (const q of ['high', 'default']) await kit.queue(q).obliterate({ force: true });
  });

  it('sends job events of every job, probes included, to its job room and its queue room', async () => {
    const listener = await kit.listen();
    const [ok] = await kit.probe(['--queue=default']);
    const [bad] = await kit.probe(['--queue=high', '--fail']);
    const worker = kit.work(['--queue=high,default', '--tries=1', '--stop-when-empty', '-q']);
    expect((await exitOf(worker)).code).toBe(0);
    await waitFor(async () => (listener.events.filter((e) => e.room.startsWith('queue:')).length >= 4 ? true : undefined), 10000);
    await listener.close();
    const seen = (room: string) => listener.events.filter((e) => e.room === room).map((e) => e.event);
    expect(seen('queue:default')).toEqual(['job:started', 'job:completed']);
    expect(seen(`job:default:${ok.id}`)).toEqual(['job:started', 'job:completed']);
    expect(seen('queue:high')).toEqual(['job:started', 'job:failed']);
    expect(listener.events.find((e) => e.room === 'queue:high' && e.event === 'job:failed')?.payload).toMatchObject({ jobId: bad.id, queueName: 'high', status: 'failed' });
  });

  it('QUEUE_JOB_EVENTS=owned announces only jobs dispatched for a user, none announces no job, and both still tell admins about a job that failed for good', async () => {
    for (const mode of ['owned', 'none']) {
      const listener = await kit.listen();
      const owned = await kit.queue('default').add('queue:probe', { sleepMs: 0, fail: false, userId: 7 });
      const [anonymous] = await kit.probe(['--queue=default']);
      const [bad] = await kit.probe(['--queue=high', '--fail']);
      const worker = kit.work(['--queue=high,default', '--tries=1', '--stop-when-empty', '-q'], { QUEUE_JOB_EVENTS: mode });
      expect((await exitOf(worker)).code).toBe(0);
      await waitFor(async () => (listener.events.some((e) => e.event === 'system:error' && e.payload.jobId === bad.id) ? true : undefined), 10000);
      await new Promise((r) => setTimeout(r, 300)); // anything announced before the failure has arrived too
      await listener.close();
      const jobEvents = listener.events.filter((e) => e.event.startsWith('job:'));
      if (mode === 'owned') {
        expect(jobEvents.filter((e) => e.room === 'user:7').map((e) => e.event)).toEqual(['job:started', 'job:completed']);
        expect(jobEvents.filter((e) => e.room === `job:default:${String(owned.id)}`).map((e) => e.event)).toEqual(['job:started', 'job:completed']);
        expect(jobEvents.filter((e) => e.payload.userId !== 7)).toEqual([]); // the probe on default and the failed one on high: no owner
        expect(jobEvents.filter((e) => e.payload.queueName === 'default' && e.payload.jobId === anonymous.id)).toEqual([]);
      } else {
        expect(jobEvents).toEqual([]);
      }
      for (const q of ['high', 'default']) await kit.queue(q).obliterate({ force: true });
    }
  });

  it("shows queue depth by state and the monitor's last verdict on the api's /metrics, read from Redis", async () => {
    api = await startApi(kit.env, { port: await freeLowPort() });
    await Promise.all([1, 2, 3].map(() => kit.queue('default').add('queue:probe', { sleepMs: 0, fail: false }, { delay: 3600_000 })));
    await kit.probe(['--queue=high', '--count=2']);
    const metric = async (line: RegExp) => {
      const text = await (await fetch(`${api?.url}/metrics`)).text();
      return line.test(text) ? text : undefined;
    };
    await waitFor(() => metric(/^queue_jobs\{queue="default",state="delayed"\} 3$/m), 10000, 500);
    await waitFor(() => metric(/^queue_jobs\{queue="high",state="waiting"\} 2$/m), 10000, 500);

    expect((await kit.cli(['queue:monitor', 'high,default', '--max=2'])).code).toBe(1);
    await waitFor(() => metric(/^queue_monitor_alert\{queue="high"\} 1$/m), 10000, 500);
    expect(await metric(/^queue_monitor_alert\{queue="default"\} 1$/m)).toBeDefined();
    await kit.queue('high').drain();
    expect((await kit.cli(['queue:monitor', 'high', '--max=2'])).code).toBe(0);
    await waitFor(() => metric(/^queue_monitor_alert\{queue="high"\} 0$/m), 10000, 500);
  });

  it('npm run up starts its worker again after queue:restart, keeps the api, and the worker serves /metrics', async () => {
    const [port, metricsPort] = [await freeLowPort(), await freeLowPort()];
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'up.js')], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(), ...kit.env, LOG_LEVEL: 'warn', PORT: String(port), METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const up = new ManagedProcess(child, 'npm run up');
    try {
      const started = (n: number) => async () => ((up.logs().match(/worker \| Worker default processing jobs/g) ?? []).length >= n ? true : undefined);
      await waitFor(started(1), 60000, 200);
      await waitFor(async () => ((await fetch(`http://127.0.0.1:${port}/up`).catch(() => undefined))?.ok ? true : undefined), 30000, 200);
      const workerMetrics = await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined);
        return res?.ok ? res.text() : undefined;
      }, 15000, 200);
      expect(workerMetrics).toContain('queue_job_duration_seconds');

      expect((await kit.cli(['queue:restart'])).code).toBe(0);
      await waitFor(started(2), 30000, 200);
      expect(up.logs()).toMatch(/worker \| exited \(0\)/);
      expect(up.logs()).toMatch(/worker exited \(code 0\); restarting it/);
      expect(up.running).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/up`)).status).toBe(200);
      const [probe] = await kit.probe(['--queue=default']);
      await kit.waitState('default', probe.id, 'completed', 15000);
    } finally {
      await up.stop(20000);
    }
    expect((await exitOf(up)).code).toBe(0);
  });
});
