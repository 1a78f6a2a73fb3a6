import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, waitFor } from '../support/http-client';
import { freeLowPort } from '../support/low-port';
import { openSocket } from './realtime-helpers';
import { exitOf, QueueKit } from './queue-test-kit';

jest.setTimeout(180000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Laravel's `artisan down` / `up`, across two api processes, sockets and a worker. */
describe('maintenance mode: bin/switchboard down / up', () => {
  const kit = new QueueKit();
  let a: ApiProcess;
  let b: ApiProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startApi(kit.env, { port: await freeLowPort() }), startApi(kit.env, { port: await freeLowPort() })]);
  });
  afterAll(async () => {
    await kit.cli(['up']);
    await Promise.all([a?.stop(), b?.stop()]);
    await kit.close();
  });

  it('answers 503 everywhere but the probes, refuses new sockets, warns connected ones, holds workers, lets the secret in, and survives a restart', async () => {
    const user = await registerTokenUser(a.url);
    const live = openSocket(a.url, '/realtime', { token: user.client.token });
    await live.next('authenticated');
    const worker = kit.work(['--queue=default', '-q']);
    // The worker is up (its heartbeat is listed) before `down`, which waits for it to pause.
    await waitFor(async () => ((await kit.redis.zcard(`${kit.prefix}workers`)) > 0 ? true : undefined), 30000);

    let r = await kit.cli(['down', '--retry=60', '--refresh=15', '--secret=let-me-in-42']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('maintenance mode');
    expect(r.stdout).toContain('Workers: 1 paused.');
    expect(await live.next('system:warning')).toMatchObject({ code: 'maintenance', retryAfter: 60 });

    for (const api of [a, b]) {
      const res = await waitFor(async () => {
        const got = await fetch(`${api.url}/api/auth/me`, { headers: { authorization: `Bearer ${user.client.token}` } });
        return got.status === 503 ? got : undefined;
      }, 5000);
      expect(res.headers.get('retry-after')).toBe('60');
      expect(res.headers.get('refresh')).toBe('15');
      expect(await res.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: expect.stringContaining('maintenance') });
      for (const path of ['/up', '/livez', '/metrics']) expect((await fetch(`${api.url}${path}`)).status).toBe(200);
    }

    const refused = openSocket(b.url, '/realtime', { token: user.client.token });
    expect(await refused.next('connect_error')).toMatchObject({ code: 'maintenance' });
    refused.socket.close();

    // `down` returned after the worker confirmed: a job dispatched now must wait, with no grace second.
    const [held] = await kit.probe(['--queue=default']);
    await sleep(2000);
    expect(await (await kit.job('default', held.id))?.getState()).toBe('waiting');

    // The bypass: /<secret> sets a cookie; with it HTTP and sockets work.
    const visit = await fetch(`${a.url}/let-me-in-42`, { redirect: 'manual' });
    expect(visit.status).toBe(302);
    const cookie = (visit.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/^switchboard_maintenance=\d+\./);
    expect((await fetch(`${b.url}/api/auth/me`, { headers: { cookie } })).status).toBe(401);
    expect((await fetch(`${b.url}/api/auth/me`, { headers: { cookie: 'switchboard_maintenance=9999999999.forged' } })).status).toBe(503);
    const bypass = openSocket(b.url, '/realtime', { token: user.client.token, cookie });
    await bypass.next('authenticated');
    bypass.socket.close();

    // A restarted api starts down.
    await b.stop();
    b = await startApi(kit.env, { port: await freeLowPort() });
    expect((await fetch(`${b.url}/api/auth/me`)).status).toBe(503);

    r = await kit.cli(['up']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Application is now live.');
    await waitFor(async () => ((await fetch(`${b.url}/api/auth/me`)).status === 401 ? true : undefined), 5000);
    await kit.waitState('default', held.id, 'completed', 10000);
    const again = openSocket(b.url, '/realtime', { token: user.client.token });
    await again.next('authenticated');
    again.socket.close();
    live.socket.close();
    await worker.stop();
    expect((await exitOf(worker)).code).toBe(0);
  });

  it('refuses a malformed secret or retry with a usage error and stays up', async () => {
    let r = await kit.cli(['down', '--secret=a b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--secret must be');
    r = await kit.cli(['down', '--retry=soon']);
    expect(r.code).toBe(2);
    expect(await kit.redis.exists(`${kit.prefix}maintenance`)).toBe(0);
  });
});
