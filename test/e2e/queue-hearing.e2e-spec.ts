import type { Job } from 'bullmq';
import { HEARING_WINDOW_MS, hearingKey } from '../../src/core/realtime/room-hearing';
import { ApiProcess, startApi } from '../support/api-process';
import { createAdmin } from '../support/admin';
import { TestUser, waitFor } from '../support/http-client';
import { freeLowPort } from '../support/low-port';
import { QueueKit } from './queue-test-kit';
import { ack, once, openSocket, readSse, SwitchingProxy } from './realtime-helpers';

jest.setTimeout(180000);

/** Recovery window 3 s: a queue room's mark outlives its last listener by 3 s + two 1 s refresh periods. */
const MARK_TTL_MS = 5000;

/**
 * QUEUE_JOB_EVENTS=heard (the default): a job without an owner is for admins only, so it is announced
 * while an admin listens to its queue (or may still recover it), and an admin loses nothing by it.
 */
describe('job events of a queue nobody hears', () => {
  const kit = new QueueKit({ WS_RECOVERY_WINDOW_MS: '3000' });
  let api: ApiProcess;
  let admin: TestUser;
  let token: string;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    api = await startApi(kit.env, { port: await freeLowPort() });
    admin = await createAdmin(api.url);
    token = ((await admin.client.post('/api/auth/token')).body as { token: string }).token;
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await fn();
    await kit.killProcesses();
    for (const q of ['default', 'low']) await kit.queue(q).obliterate({ force: true });
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });

  const probes = (n: number, sleepMs: number) => kit.queue('default').addBulk(Array.from({ length: n }, () => ({ name: 'queue:probe', data: { sleepMs, fail: false } })));
  const jobEvents = (events: { event: string; payload: Record<string, unknown> }[], id: string) => events.filter((e) => e.event.startsWith('job:') && e.payload.jobId === id).map((e) => e.event);

  it('announces nothing while nobody listens, and every job from the answer of the first subscribe to its queue on, with a worker already running', async () => {
    const channel = await kit.listen([]); // hears the fan-out channel, listens to no queue
    cleanups.push(() => channel.close());
    const jobs = await probes(150, 20);
    kit.work(['--queue=default', '--concurrency=1', '-q']);
    await waitFor(async () => ((await kit.queue('default').getCompletedCount()) >= 40 ? true : undefined), 30000, 50);
    const s = openSocket(api.url, '/realtime', { token });
    cleanups.push(() => s.socket.close());
    await s.next('connected');
    const asked = Date.now();
    expect(await ack(s.socket, 'subscribe', { room: 'queue:default' })).toMatchObject({ ok: true });
    const answered = Date.now();
    // The first listener of the queue is answered once every worker has read its mark.
    expect(answered - asked).toBeGreaterThanOrEqual(HEARING_WINDOW_MS);
    await waitFor(async () => ((await kit.queue('default').getCompletedCount()) === 150 ? true : undefined), 60000, 100);
    await new Promise((r) => setTimeout(r, 300));
    const done = (await Promise.all(jobs.map((j) => kit.queue('default').getJob(String(j.id))))) as Job[];
    // A worker announces until it has read the marks (its first ~100 ms here): the jobs it started after.
    const firstStart = Math.min(...done.map((j) => j.processedOn ?? Infinity));
    const before = done.filter((j) => (j.finishedOn ?? 0) < asked && (j.processedOn ?? 0) > firstStart + 300);
    const startedAfter = done.filter((j) => (j.processedOn ?? 0) > answered);
    expect(before.length).toBeGreaterThanOrEqual(20);
    expect(startedAfter.length).toBeGreaterThanOrEqual(20);
    // Nothing of the jobs done before anyone listened went out, on the channel or to the socket.
    for (const j of before) expect([jobEvents(channel.events, String(j.id)), jobEvents(s.received, String(j.id))]).toEqual([[], []]);
    // Every job that started after the answer: both of its events, on the channel and to the socket.
    for (const j of startedAfter) expect(jobEvents(s.received, String(j.id))).toEqual(['job:started', 'job:completed']);
    // One that finished after the answer but started before: at least its job:completed.
    for (const j of done.filter((x) => (x.finishedOn ?? 0) > answered && (x.processedOn ?? 0) <= answered)) expect(jobEvents(s.received, String(j.id))).toContain('job:completed');
    // A second listener of a heard queue is answered at once.
    const t = Date.now();
    expect(await ack(s.socket, 'subscribe', { room: `job:default:${String(jobs[0].id)}` })).toMatchObject({ ok: true });
    expect(Date.now() - t).toBeLessThan(HEARING_WINDOW_MS);
  });

  it('keeps announcing while an admin who listened is away within the recovery window: the reconnect recovers every job', async () => {
    const proxy = new SwitchingProxy(api.port);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const s = openSocket(proxy.url, '/realtime', { token, reconnection: true });
    cleanups.push(() => s.socket.close());
    await s.next('connected');
    expect(await ack(s.socket, 'subscribe', { room: 'queue:default' })).toMatchObject({ ok: true });
    const first = await probes(1, 0);
    kit.work(['--queue=default', '-q']);
    await waitFor(async () => (jobEvents(s.received, String(first[0].id)).length === 2 ? true : undefined), 15000);
    const disconnected = once(s.socket, 'disconnect');
    await proxy.cut();
    await disconnected;
    const away = await probes(10, 0);
    await waitFor(async () => ((await kit.queue('default').getCompletedCount()) === 11 ? true : undefined), 15000, 50);
    const reconnected = s.next<{ recovered: boolean }>('connected', 30000);
    proxy.targetPort = api.port;
    expect((await reconnected).recovered).toBe(true);
    for (const j of away) await waitFor(async () => (jobEvents(s.received, String(j.id)).length === 2 ? true : undefined), 15000);
  });

  it('an SSE resume from before a time nobody listened is told gap, even when no event at all was issued since (the skipped ones had no id)', async () => {
    const url = `${api.url}/api/realtime/events?rooms=queue:default`;
    const headers = { authorization: `Bearer ${token}` };
    const first = new AbortController();
    cleanups.push(() => first.abort());
    const res = await fetch(url, { headers, signal: first.signal });
    expect(res.status).toBe(200);
    // `low` keeps the worker busy, so its reads of the marks stay fresh, and announces nothing once it has read
    // them (nobody hears it): from then on no id is issued but by a heard job.
    await kit.queue('low').addBulk(Array.from({ length: 1500 }, () => ({ name: 'queue:probe', data: { sleepMs: 10, fail: false } })));
    kit.work(['--queue=default,low', '--concurrency=1', '-q']);
    await waitFor(async () => ((await kit.queue('low').getCompletedCount()) >= 30 ? true : undefined), 15000, 50);
    const [job] = await probes(1, 0);
    const seen = await readSse(res, 2, 15000, (e) => e.event === 'job:completed' && e.data.jobId === String(job.id));
    const last = seen.filter((e) => e.event === 'job:completed').at(-1)?.id;
    expect(last).toBeDefined();
    first.abort();
    await new Promise((r) => setTimeout(r, MARK_TTL_MS + 1500)); // nobody listens any more: the mark lapses
    expect(await kit.queue('low').getWaitingCount()).toBeGreaterThan(0); // the worker was busy all along
    const channel = await kit.listen([]);
    cleanups.push(() => channel.close());
    await probes(20, 0);
    await waitFor(async () => ((await kit.queue('default').getCompletedCount()) === 21 ? true : undefined), 15000, 50);
    await new Promise((r) => setTimeout(r, 300));
    expect(channel.events.filter((e) => e.event.startsWith('job:'))).toEqual([]); // nothing announced, so no id issued either
    const again = new AbortController();
    cleanups.push(() => again.abort());
    const resumed = await fetch(url, { headers: { ...headers, 'Last-Event-ID': String(last) }, signal: again.signal });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('last-event-id-status')).toBe('gap');
    // Heard again from the answer on: the next job is announced to the resumed stream.
    const [next] = await probes(1, 0);
    const live = await readSse(resumed, 1, 15000, (e) => e.event === 'job:completed' && e.data.jobId === String(next.id));
    expect(live.some((e) => e.event === 'job:completed' && e.data.jobId === String(next.id))).toBe(true);
  });

  it("a mark gone while admins listen on two api processes (not with Redis' data: that starts a new epoch, which resyncs every client) sends both away: told recovered:false", async () => {
    const other = await startApi(kit.env, { port: await freeLowPort() });
    cleanups.push(() => other.stop());
    const listeners = [openSocket(api.url, '/realtime', { token, reconnection: true }), openSocket(other.url, '/realtime', { token, reconnection: true })];
    for (const s of listeners) {
      cleanups.push(() => s.socket.close());
      await s.next('connected');
      expect(await ack(s.socket, 'subscribe', { room: 'queue:default' })).toMatchObject({ ok: true });
    }
    await kit.redis.del(hearingKey(kit.prefix, 'queue:default'));
    // Workers announced nothing of the queue until one api's next refresh of its listeners' marks (1 s here)
    // made it again; every api hears that the queue's history is incomplete.
    for (const s of listeners) expect((await s.next<{ recovered: boolean }>('connected', 15000)).recovered).toBe(false);
    expect(await kit.redis.get(hearingKey(kit.prefix, 'queue:default'))).toMatch(/^\d+:1$/);
  });
});
