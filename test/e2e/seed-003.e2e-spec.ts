import { EventSource } from 'eventsource';
import { io, Socket } from 'socket.io-client';
import { ApiProcess, startApi } from '../support/api-process';
import { createAdmin } from '../support/admin';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';
import { readSse } from './realtime-helpers';

jest.setTimeout(180000);

/**
 * Seed 003 (realtime job progress), example by example, with its own client
 * code: `io('http://host:3000')` on the default namespace, `authenticate
 * {userId, token}`, EventSource on /api/realtime/*. docs/seeds.md points here.
 */
describe('seed 003: the realtime examples work as written', () => {
  const kit = new QueueKit({ ANALYSIS_STATION_MS: '100', AI_PROVIDERS: 'local' });
  let api: ApiProcess;
  let owner: TestUser;
  let admin: TestUser;
  let projectId: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    api = await startApi({ ...kit.env, AUTH_TIMEOUT_MS: '3000' });
    owner = await registerTokenUser(api.url, 'seed3');
    admin = await createAdmin(api.url);
    const res = await owner.client.post('/api/projects', { name: 'seed 003' });
    expect(res.status).toBe(201);
    projectId = res.body.id as number;
    kit.work(['--queue=high,default', '--tries=1']);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await api?.stop();
    await kit.close();
  });

  /** The seed's client, verbatim apart from the URL: default namespace, websocket then polling. */
  function seedClient(): { socket: Socket; events: { event: string; data: Record<string, unknown>; extra: unknown[] }[] } {
    const socket = io(api.url, { transports: ['websocket', 'polling'], forceNew: true, reconnection: false });
    sockets.push(socket);
    const events: { event: string; data: Record<string, unknown>; extra: unknown[] }[] = [];
    socket.onAny((event: string, data: Record<string, unknown>, ...extra: unknown[]) => events.push({ event, data, extra }));
    return { socket, events };
  }

  const seen = (events: { event: string }[], name: string, timeoutMs = 30000) =>
    waitFor(async () => events.find((e) => e.event === name) as { event: string; data: Record<string, unknown> } | undefined, timeoutMs);

  async function tokenOf(u: TestUser): Promise<string> {
    return (await u.client.post('/api/auth/token')).body.token as string;
  }

  it('serves the /realtime contract on the default namespace: connected, authenticate {userId, token}, authenticated, subscribe', async () => {
    const { socket, events } = seedClient();
    const connected = await seen(events, 'connected');
    expect(connected.data).toMatchObject({ recovered: false });
    expect(typeof connected.data.socketId).toBe('string');
    // The seed sends `{userId, token}`: the extra key must not be a bad_request.
    const ack = (await socket.timeout(10000).emitWithAck('authenticate', { userId: String(owner.id), token: await tokenOf(owner) })) as Record<string, unknown>;
    expect(ack).toEqual({ ok: true, userId: owner.id });
    expect((await seen(events, 'authenticated')).data).toEqual({ userId: owner.id });
    expect(await socket.timeout(10000).emitWithAck('subscribe', { room: `project:${projectId}` })).toEqual({ ok: true, room: `project:${projectId}` });
    // A userId naming someone else is refused, never silently ignored.
    const other = seedClient();
    await seen(other.events, 'connected');
    const refused = (await other.socket.timeout(10000).emitWithAck('authenticate', { userId: owner.id + 1, token: await tokenOf(owner) })) as Record<string, unknown>;
    expect(refused).toMatchObject({ ok: false, error: 'unauthorized' });
  });

  it('delivers job:started (jobName, userId), analysis:progress and job:completed (result, duration) to the seed client on /', async () => {
    const { socket, events } = seedClient();
    await seen(events, 'connected');
    await socket.timeout(10000).emitWithAck('authenticate', { userId: owner.id, token: await tokenOf(owner) });
    await socket.timeout(10000).emitWithAck('subscribe', { room: `project:${projectId}` });
    const res = await owner.client.post(`/api/projects/${projectId}/analyses`, { stations: 2 });
    expect(res.status).toBe(202);
    const { analysisId, jobId } = res.body as { analysisId: number; jobId: string };
    const completed = await seen(events, 'job:completed', 60000);
    const started = events.find((e) => e.event === 'job:started')!;
    expect(started.data).toMatchObject({ jobId, jobName: 'analysis', userId: owner.id, queueName: 'default', eventType: 'job:started' });
    const progress = events.filter((e) => e.event === 'analysis:progress').map((e) => e.data);
    expect(progress).toHaveLength(2);
    expect(progress[1]).toMatchObject({ projectId, analysisId, currentStation: 2, totalStations: 2, progress: 100 });
    expect(progress[1].logs).toEqual(expect.arrayContaining([expect.any(String)]));
    expect(typeof progress[1].stationName).toBe('string');
    expect(completed.data).toMatchObject({ jobId, userId: owner.id, status: 'completed', result: { analysisId } });
    expect(completed.data.duration).toEqual(expect.any(Number));
    // Every payload carries the seed's RealtimeBasePayload fields.
    for (const e of events.filter((x) => /^(job|analysis):/.test(x.event))) {
      expect(new Date(e.data.timestamp as string).toISOString()).toBe(e.data.timestamp);
      expect(e.data.eventType).toBe(e.event);
    }
  });

  it('delivers job:failed with error, attemptsMade and attemptsMax, and system:error to admins', async () => {
    const adminSocket = seedClient();
    await seen(adminSocket.events, 'connected');
    await adminSocket.socket.timeout(10000).emitWithAck('authenticate', { token: await tokenOf(admin) });
    const { socket, events } = seedClient();
    await seen(events, 'connected');
    await socket.timeout(10000).emitWithAck('authenticate', { token: await tokenOf(owner) });
    // An analysis job whose row does not exist fails for good on its first attempt (UnrecoverableError).
    const job = await kit.queue('default').add('analysis', { analysisId: 2147483000, projectId, userId: owner.id, stations: 1 });
    const failed = await seen(events, 'job:failed', 60000);
    expect(failed.data).toMatchObject({ jobId: job.id, userId: owner.id, status: 'failed', attemptsMade: 1, attemptsMax: 1 });
    expect(failed.data.error).toMatch(/no longer exists/);
    const alert = await seen(adminSocket.events, 'system:error', 30000);
    expect(alert.data).toMatchObject({ code: 'job_failed', jobId: job.id, level: 'error' });
    expect(events.some((e) => e.event === 'system:error')).toBe(false);
  });

  it('streams one job over SSE by the jobId the payloads carry', async () => {
    const res = await owner.client.post(`/api/projects/${projectId}/analyses`, { stations: 1 });
    const { jobId, analysisId } = res.body as { jobId: string; analysisId: number };
    await waitFor(async () => (await owner.client.get(`/api/analyses/${analysisId}`)).body.status === 'completed', 60000);
    const sse = await fetch(`${api.url}/api/realtime/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${owner.client.token}`, 'last-event-id': '0' } });
    expect(sse.status).toBe(200);
    // The user's own room is always part of a stream, so earlier jobs' events replay too: this job's are picked out.
    const got = (await readSse(sse, 200, 3000)).filter((e) => e.data.jobId === jobId);
    expect(got.map((e) => e.event)).toEqual(expect.arrayContaining(['job:started', 'job:completed']));
    // Someone else's job is not found by its bare id.
    const stranger = await registerTokenUser(api.url, 'stranger');
    const denied = await fetch(`${api.url}/api/realtime/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${stranger.client.token}` } });
    expect(denied.status).toBe(404);
  });

  it('opens every EventSource stream with a connected event (no id), as the seed listens for', async () => {
    const es = new EventSource(`${api.url}/api/realtime/events`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${owner.client.token}` } }),
    });
    try {
      const first = await new Promise<MessageEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connected event')), 15000);
        es.addEventListener('connected', (e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
      expect(JSON.parse(first.data as string)).toMatchObject({ userId: owner.id, eventType: 'connected', rooms: [`user:${owner.id}`] });
      expect(first.lastEventId).toBe('');
    } finally {
      es.close();
    }
  });

  it('answers GET /api/realtime/stats in the seed shape (admin only) and /api/realtime/health in its own', async () => {
    const { socket, events } = seedClient();
    await seen(events, 'connected');
    await socket.timeout(10000).emitWithAck('authenticate', { token: await tokenOf(owner) });
    expect((await owner.client.get('/api/realtime/stats')).status).toBe(403);
    const stats = await waitFor(async () => {
      const r = await admin.client.get('/api/realtime/stats');
      return r.status === 200 && (r.body.stats.websocket.rooms as string[]).includes(`user:${owner.id}`) && r;
    });
    expect(stats.body).toMatchObject({
      success: true,
      stats: {
        websocket: { totalConnections: expect.any(Number), authenticatedConnections: expect.any(Number), rooms: expect.any(Array) },
        sse: { totalClients: expect.any(Number), authenticatedClients: expect.any(Number), rooms: expect.any(Array) },
      },
    });
    expect(stats.body.stats.websocket.authenticatedConnections).toBeGreaterThanOrEqual(1);
    // SSE per user: two streams of the owner are counted under the owner's id.
    const streams = [new AbortController(), new AbortController()];
    for (const c of streams) {
      const res = await fetch(`${api.url}/api/realtime/events`, { headers: { authorization: `Bearer ${await tokenOf(owner)}` }, signal: c.signal });
      expect(res.status).toBe(200);
    }
    try {
      const withUsers = await waitFor(async () => {
        const r = await admin.client.get('/api/realtime/stats');
        const users = r.body.stats?.sse?.users as Array<{ userId: number; clients: number }> | undefined;
        return users?.find((u) => u.userId === owner.id && u.clients === 2);
      });
      expect(withUsers).toEqual({ userId: owner.id, clients: 2 });
    } finally {
      for (const c of streams) c.abort();
    }
    expect(new Date(stats.body.stats.timestamp as string).toISOString()).toBe(stats.body.stats.timestamp);

    const health = await fetch(`${api.url}/api/realtime/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as Record<string, any>;
    expect(body).toMatchObject({
      success: true,
      health: { websocket: { status: 'operational', initialized: true }, sse: { status: 'operational', clients: expect.any(Number) }, overall: 'healthy' },
    });
    expect(typeof body.health.timestamp).toBe('string');
  });

  it('emits system:info to admins when an api process starts (a deploy), kept in history for SSE', async () => {
    const sse = await fetch(`${api.url}/api/realtime/events`, { headers: { authorization: `Bearer ${await tokenOf(admin)}`, 'last-event-id': '0' } });
    const got = await readSse(sse, 50, 3000);
    expect(got.find((e) => e.event === 'system:info')?.data).toMatchObject({ code: 'instance_started', level: 'info' });
  });

  it('accepts the POST /api/realtime/test body of the seed from an admin and delivers it', async () => {
    const { socket, events } = seedClient();
    await seen(events, 'connected');
    await socket.timeout(10000).emitWithAck('authenticate', { token: await tokenOf(owner) });
    const body = { eventType: 'system:info', payload: { message: 'Test event', level: 'info' }, target: 'all' };
    expect((await owner.client.post('/api/realtime/test', body)).status).toBe(403);
    expect((await admin.client.post('/api/realtime/test', body)).status).toBe(202);
    expect((await seen(events, 'system:info')).data).toMatchObject({ message: 'Test event', level: 'info', eventType: 'system:info' });
  });
});
