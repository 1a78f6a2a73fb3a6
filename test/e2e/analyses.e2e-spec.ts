import { ApiProcess, startApi } from '../support/api-process';
import { createAdmin } from '../support/admin';
import { HttpClient, registerUser, TestUser, waitFor } from '../support/http-client';
import { exitOf, PublishedEvent, QueueKit } from './queue-test-kit';
import { ack, openSocket } from './realtime-helpers';

jest.setTimeout(180000);

describe('analyses: POST /api/projects/:id/analyses, progress events, GET /api/analyses/:id and /api/jobs/:queue/:id', () => {
  const kit = new QueueKit({ ANALYSIS_STATION_MS: '300' });
  let api: ApiProcess;
  let owner: TestUser;
  let member: TestUser;
  let stranger: TestUser;
  let admin: TestUser;
  let projectId: number;

  beforeAll(async () => {
    api = await startApi(kit.env);
    owner = await registerUser(api.url, 'owner');
    member = await registerUser(api.url, 'member');
    stranger = await registerUser(api.url, 'stranger');
    admin = await createAdmin(api.url);
    const res = await owner.client.post('/api/projects', { name: 'Survey', memberIds: [member.id] });
    expect(res.status).toBe(201);
    projectId = (res.body as { id: number }).id;
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });

  it('runs an analysis on the chosen queue and publishes job:* and analysis:* to the job, analysis, project and user rooms in order', async () => {
    const listener = await kit.listen();
    const res = await owner.client.post(`/api/projects/${projectId}/analyses`, { priority: 'high', stations: 3 });
    expect(res.status).toBe(202);
    const { analysisId, jobId, queue } = res.body as { analysisId: number; jobId: string; queue: string };
    expect(queue).toBe('high');
    expect(await kit.redis.get(`${kit.prefix}job-owner:high:${jobId}`)).toBe(String(owner.id));
    expect(await kit.redis.ttl(`${kit.prefix}job-owner:high:${jobId}`)).toBeGreaterThan(24 * 3600);

    let view = await owner.client.get(`/api/analyses/${analysisId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id: analysisId, projectId, status: 'queued', progress: 0, stations: 3, queue: 'high', jobId });

    const worker = kit.work(['--queue=high,default', '--stop-when-empty']);
    expect((await exitOf(worker, 60000)).code).toBe(0);
    view = await waitFor(async () => {
      const r = await member.client.get(`/api/analyses/${analysisId}`);
      return (r.body as { status: string }).status === 'completed' ? r : undefined;
    });
    expect(view.body).toMatchObject({ status: 'completed', progress: 100, completedStations: 3 });
    expect((view.body as { result: { stations: unknown[] } }).result.stations).toHaveLength(3);

    await waitFor(async () => listener.events.some((e) => e.event === 'job:completed' && e.room.startsWith('user:')));
    await listener.close();
    const jobRoomName = `job:high:${jobId}`;
    const inRoom = (room: string) => listener.events.filter((e) => e.room === room).map((e) => e.event);
    expect(inRoom(jobRoomName)).toEqual(['job:started', 'job:progress', 'job:progress', 'job:progress', 'job:completed']);
    const analysisEvents = ['analysis:started', 'analysis:progress', 'analysis:progress', 'analysis:progress', 'analysis:completed'];
    expect(inRoom(`analysis:${analysisId}`)).toEqual(analysisEvents);
    expect(inRoom(`project:${projectId}`)).toEqual(analysisEvents);
    const toUser = inRoom(`user:${owner.id}`);
    expect(toUser.filter((e) => e.startsWith('job:'))).toEqual(inRoom(jobRoomName));
    expect(toUser.filter((e) => e.startsWith('analysis:'))).toEqual(analysisEvents);
    const progress = listener.events.filter((e) => e.room === jobRoomName && e.event === 'job:progress').map((e) => e.payload);
    expect(progress.map((p) => p.progress)).toEqual([33, 66, 100]);
    expect(progress[0]).toMatchObject({ jobId, queueName: 'high', status: 'active', currentStep: '1:ingest', totalSteps: 3 });
    const stationEvent = listener.events.find((e) => e.room === `analysis:${analysisId}` && e.event === 'analysis:progress') as PublishedEvent;
    expect(stationEvent.payload).toMatchObject({
      projectId,
      analysisId,
      currentStation: 1,
      totalStations: 3,
      stationName: '1:ingest',
      progress: 33,
    });

    const job = await owner.client.get(`/api/jobs/high/${jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ id: jobId, queue: 'high', name: 'analysis', state: 'completed', progress: 100, attempts: 1, failedReason: null });
    expect(typeof (job.body as { finishedOn: string }).finishedOn).toBe('string');
  });

  it('resumes a killed analysis at the first unfinished station', async () => {
    const res = await owner.client.post(`/api/projects/${projectId}/analyses`, { stations: 6 });
    expect(res.status).toBe(202);
    const { analysisId } = res.body as { analysisId: number };
    const slow = { ANALYSIS_STATION_MS: '1000' };
    const first = kit.work(['--queue=high,default'], slow);
    await waitFor(async () => {
      const r = await owner.client.get(`/api/analyses/${analysisId}`);
      return (r.body as { completedStations: number }).completedStations >= 2 ? true : undefined;
    }, 60000);
    await first.kill();
    const done = (await owner.client.get(`/api/analyses/${analysisId}`)).body as { completedStations: number };
    const listener = await kit.listen();
    const second = kit.work(['--queue=high,default'], slow);
    await waitFor(async () => {
      const r = await owner.client.get(`/api/analyses/${analysisId}`);
      return (r.body as { status: string }).status === 'completed' ? true : undefined;
    }, 90000);
    await second.stop();
    await listener.close();
    const stations = listener.events
      .filter((e) => e.room === `analysis:${analysisId}` && e.event === 'analysis:progress')
      .map((e) => e.payload.currentStation as number);
    // Each remaining station exactly once; the finished ones are not run again.
    expect(stations).toEqual(Array.from({ length: 6 - done.completedStations }, (_, i) => done.completedStations + 1 + i));
    expect(stations[stations.length - 1]).toBe(6);
  });

  it('lets only members start analyses and only the owner or an admin see the job', async () => {
    const bad = [
      [stranger.client, { stations: 1 }, 403],
      [owner.client, { priority: 'urgent' }, 400],
      [owner.client, { stations: 0 }, 400],
      [owner.client, { stations: 'many' }, 400],
      [owner.client, { extra: 1 }, 400],
    ] as const;
    for (const [client, body, status] of bad) {
      const r = await client.post(`/api/projects/${projectId}/analyses`, body);
      expect(r.status).toBe(status);
    }
    expect((await owner.client.post('/api/projects/999999/analyses', {})).status).toBe(404);
    expect((await new HttpClient(api.url).post(`/api/projects/${projectId}/analyses`, {})).status).toBe(401);

    const res = await member.client.post(`/api/projects/${projectId}/analyses`, { stations: 1 });
    expect(res.status).toBe(202);
    const { analysisId, jobId, queue } = res.body as { analysisId: number; jobId: string; queue: string };
    expect(queue).toBe('default');
    expect((await member.client.get(`/api/jobs/default/${jobId}`)).status).toBe(200);
    expect((await owner.client.get(`/api/jobs/default/${jobId}`)).status).toBe(403);
    expect((await stranger.client.get(`/api/jobs/default/${jobId}`)).status).toBe(403);
    expect((await admin.client.get(`/api/jobs/default/${jobId}`)).status).toBe(200);
    expect((await admin.client.get(`/api/jobs/nope/${jobId}`)).status).toBe(404);
    expect((await admin.client.get('/api/jobs/default/99999999')).status).toBe(404);
    expect((await stranger.client.get(`/api/analyses/${analysisId}`)).status).toBe(403);
    expect((await admin.client.get(`/api/analyses/${analysisId}`)).status).toBe(200);
    expect((await owner.client.get('/api/analyses/99999999')).status).toBe(404);
  });

  it("never lets a user into another user's job when the owner record and the payload disagree: job room and GET /api/jobs", async () => {
    const res = await member.client.post(`/api/projects/${projectId}/analyses`, { stations: 1 });
    expect(res.status).toBe(202);
    const { jobId } = res.body as { jobId: string };
    const room = `job:default:${jobId}`;
    const record = `${kit.prefix}job-owner:default:${jobId}`;
    const tokens = await Promise.all([owner, member].map(async (u) => (await u.client.post<{ token: string }>('/api/auth/token')).body.token));
    const [ownerSocket, memberSocket] = tokens.map((token) => openSocket(api.url, '/realtime', { token }));
    try {
      await Promise.all([ownerSocket.next('authenticated'), memberSocket.next('authenticated')]);
      // As if BullMQ had handed this id out again while an older record naming the owner lived.
      await kit.redis.set(record, String(owner.id));
      expect((await owner.client.get(`/api/jobs/default/${jobId}`)).status).toBe(403);
      expect(await ack(ownerSocket.socket, 'subscribe', { room })).toMatchObject({ ok: false, error: 'forbidden' });
      expect((await member.client.get(`/api/jobs/default/${jobId}`)).status).toBe(403);
      expect(await ack(memberSocket.socket, 'subscribe', { room })).toMatchObject({ ok: false, error: 'forbidden' });
      expect((await admin.client.get(`/api/jobs/default/${jobId}`)).status).toBe(200);
      // The record expired: the payload alone names the owner.
      await kit.redis.del(record);
      expect((await member.client.get(`/api/jobs/default/${jobId}`)).status).toBe(200);
      expect(await ack(memberSocket.socket, 'subscribe', { room })).toMatchObject({ ok: true, room });
      expect(await ack(ownerSocket.socket, 'subscribe', { room })).toMatchObject({ ok: false, error: 'forbidden' });
    } finally {
      ownerSocket.socket.close();
      memberSocket.socket.close();
    }
  });

  it('serves Bull Board at /admin/queues to admins only', async () => {
    expect((await new HttpClient(api.url).get('/admin/queues')).status).toBe(401);
    expect((await owner.client.get('/admin/queues')).status).toBe(403);
    expect((await owner.client.get('/admin/queues/api/queues')).status).toBe(403);
    const page = await admin.client.get('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    const queues = await admin.client.get('/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    expect(JSON.stringify(queues.body)).toContain('"high"');
  });
});
