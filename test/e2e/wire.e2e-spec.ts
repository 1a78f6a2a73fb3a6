import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';
import { ack, openSocket, readSse } from './realtime-helpers';

/** GET /api/notifications, as far as these tests read it. */
type NotificationPage = { notifications: { type: string; body: string; data: { analysisId: number; projectId: number } }[] };

jest.setTimeout(180_000);

/**
 * One consistent wire (issue 17 §2): database ids are numbers on every
 * transport, typing reaches the others only, analyses and project adds
 * notify, and a user's id can be found by exact email without listing anyone.
 */
describe('one consistent wire', () => {
  const kit = new QueueKit({ ANALYSIS_STATION_MS: '50' });
  let api: ApiProcess;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    api = await startApi(kit.env);
    alice = await registerTokenUser(api.url, 'wire-alice');
    bob = await registerTokenUser(api.url, 'wire-bob');
    kit.work(['--queue=high,default']);
  });
  afterAll(async () => {
    await api?.stop();
    await kit.close();
  });

  it('sends message ids as numbers over REST, Socket.IO and SSE alike', async () => {
    const room = await alice.client.post('/api/chat/rooms', { name: 'ids', memberIds: [bob.id] });
    const roomId = room.body.id as number;
    const s = openSocket(api.url, '/chat', { token: bob.client.token });
    await s.next('connected');
    expect(await ack(s.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    const posted = await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'hi' });
    expect(typeof posted.body.id).toBe('number');
    const live = await s.next<{ id: unknown; roomId: unknown; userId: unknown }>('message:new');
    expect(live).toMatchObject({ id: posted.body.id, roomId, userId: alice.id });
    const sent = await ack<{ ok: boolean; message: { id: unknown; roomId: unknown } }>(s.socket, 'message:send', { roomId, body: 'back' });
    expect(typeof sent.message.id).toBe('number');
    expect(sent.message.roomId).toBe(roomId);
    const page = await bob.client.get(`/api/chat/rooms/${roomId}/messages?limit=1`);
    expect(typeof page.body.messages[0].id).toBe('number');
    expect(typeof page.body.nextBefore).toBe('number');
    const sse = await fetch(`${api.url}/api/realtime/events?rooms=chat:${roomId}`, { headers: { authorization: `Bearer ${bob.client.token}`, 'last-event-id': '0' } });
    const overSse = (await readSse(sse, 50, 2000)).filter((e) => e.event === 'message:new' && e.data.roomId === roomId);
    expect(overSse[0].data.id).toBe(posted.body.id);
    const notes = await bob.client.get('/api/notifications?status=all');
    expect(typeof notes.body.notifications[0].id).toBe('number');
    s.socket.close();
  });

  it('delivers typing to the other members of the room, never back to the typist', async () => {
    const room = await alice.client.post('/api/chat/rooms', { name: 'typing', memberIds: [bob.id] });
    const roomId = room.body.id as number;
    const a = openSocket(api.url, '/chat', { token: alice.client.token });
    const b = openSocket(api.url, '/chat', { token: bob.client.token });
    await Promise.all([a.next('connected'), b.next('connected')]);
    await ack(a.socket, 'room:join', { roomId });
    await ack(b.socket, 'room:join', { roomId });
    expect(await ack(a.socket, 'typing', { roomId })).toEqual({ ok: true, roomId });
    expect(await b.next('typing')).toMatchObject({ roomId, userId: alice.id });
    // A marker sent after the typing event: once it arrived, the typing event would have too.
    await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'marker' });
    await a.next('message:new');
    expect(a.received.filter((r) => r.event === 'typing')).toEqual([]);
    a.socket.close();
    b.socket.close();
  });

  it('notifies a member added to a project, and the owner when an analysis finishes', async () => {
    const project = await alice.client.post('/api/projects', { name: 'notify', memberIds: [bob.id] });
    const projectId = project.body.id as number;
    const added = await waitFor(async () => (await bob.client.get<NotificationPage>('/api/notifications')).body.notifications.find((n: { type: string }) => n.type === 'project.member_added'));
    expect(added).toMatchObject({ data: { projectId, by: alice.id } });
    const started = await bob.client.post(`/api/projects/${projectId}/analyses`, { stations: 1 });
    const analysisId = started.body.analysisId as number;
    const done = await waitFor(
      async () => (await alice.client.get<NotificationPage>('/api/notifications')).body.notifications.find((n: { type: string; data: { analysisId: number } }) => n.type === 'analysis.completed' && n.data.analysisId === analysisId),
      60000,
    );
    expect(done).toMatchObject({ data: { projectId, analysisId } });
    // Bob started it: he hears too.
    expect((await bob.client.get<NotificationPage>('/api/notifications')).body.notifications.some((n: { type: string }) => n.type === 'analysis.completed')).toBe(true);
  });

  it('notifies the owner when an analysis fails for good', async () => {
    const project = await alice.client.post('/api/projects', { name: 'fails' });
    const projectId = project.body.id as number;
    await kit.queue('default').add('analysis', { analysisId: 2147483001, projectId, userId: alice.id, stations: 1 }, { attempts: 1 });
    const failed = await waitFor(
      async () => (await alice.client.get<NotificationPage>('/api/notifications')).body.notifications.find((n: { type: string; data: { analysisId: number } }) => n.type === 'analysis.failed' && n.data.analysisId === 2147483001),
      60000,
    );
    expect(failed?.body).toMatch(/no longer exists/);
  });

  it('finds a user id by exact email only, within a per-user budget', async () => {
    const found = await alice.client.get(`/api/users/lookup?email=${encodeURIComponent(bob.email.toUpperCase())}`);
    expect(found.status).toBe(200);
    expect(found.body).toEqual({ id: bob.id, name: expect.any(String) });
    expect((await alice.client.get(`/api/users/lookup?email=${encodeURIComponent('nobody-' + bob.email)}`)).status).toBe(404);
    expect((await alice.client.get(`/api/users/lookup?email=${encodeURIComponent('%')}`)).status).toBe(400);
    expect((await alice.client.get('/api/users/lookup')).status).toBe(400);
    expect((await alice.client.get('/api/users')).status).toBe(404);
    let limited = 0;
    for (let i = 0; i < 25 && !limited; i++) {
      const r = await alice.client.get(`/api/users/lookup?email=${encodeURIComponent(bob.email)}`);
      if (r.status === 429) limited = i;
    }
    expect(limited).toBeGreaterThan(0);
    // Another user's budget is their own.
    expect((await bob.client.get(`/api/users/lookup?email=${encodeURIComponent(alice.email)}`)).status).toBe(200);
  });
});
