import { testRedis } from '../support/redis';
import type { RedisClient } from '../../src/core/redis/redis.factory';
import { join } from 'node:path';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { HttpClient, registerTokenUser, registerUser, TestUser, waitFor } from '../support/http-client';
import { ownStack } from '../support/stack';
import { ack, logOptions, openSocket, SseEvent, SwitchingProxy, takeSseEvents } from './realtime-helpers';

jest.setTimeout(120000);

/** Within "about a second" of the answer to logout, on every process. */
const REACH_MS = 1500;

type Opened = ReturnType<typeof openSocket>;

/** An SSE stream read in the background: the events so far, and whether the server ended it. */
function openSse(url: string, headers: Record<string, string>) {
  const events: SseEvent[] = [];
  const state = { status: 0, ended: false, endedAt: 0 };
  const controller = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers, signal: controller.signal });
    state.status = res.status;
    if (res.status !== 200 || !res.body) return;
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      buffer = takeSseEvents(buffer, events);
    }
    state.ended = true;
    state.endedAt = Date.now();
  })().catch(() => undefined); // aborted by the test's cleanup
  return { events, state, opened: () => waitFor(async () => state.status === 200), close: () => (controller.abort(), done) };
}

/** Resolves with the time the socket was disconnected by the server. */
function serverDisconnect(s: Opened): Promise<number> {
  return new Promise((resolve) => s.socket.on('disconnect', (reason) => reason === 'io server disconnect' && resolve(Date.now())));
}

/** Publishes as a worker does: RealtimeService over nothing but Redis. */
function workerPublisher(redis: RedisClient) {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { EventLog } = require(join(ROOT, 'dist/core/realtime/event-log.js')) as typeof import('../../src/core/realtime/event-log');
  const { RedisRealtimeService } = require(join(ROOT, 'dist/core/realtime/redis-realtime.service.js')) as typeof import('../../src/core/realtime/redis-realtime.service');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new RedisRealtimeService(new EventLog(redis, logOptions(100)));
}

async function tokenClient(u: TestUser, baseUrl: string): Promise<HttpClient> {
  const res = await u.client.post('/api/auth/token');
  expect(res.status).toBe(200);
  const c = new HttpClient(baseUrl);
  c.token = (res.body as { token: string }).token;
  return c;
}

const del = (c: HttpClient, path: string) => c.request('DELETE', path);

/**
 * Fresh users, once the replica has them: naming a user in `memberIds` is
 * checked on a replica, and registering does not open the new user's
 * read-your-writes window, so a lagging replica would call them unknown.
 */
async function users(baseUrl: string, ...names: string[]): Promise<TestUser[]> {
  const made: TestUser[] = [];
  for (const n of names) made.push(await registerTokenUser(baseUrl, n));
  const { name, control } = ownStack();
  await control.waitReplicaCaughtUp(name, 20000);
  return made;
}

describe('logout and lost access reach open connections on every api process', () => {
  let a: ApiProcess;
  let b: ApiProcess;
  let redis: RedisClient;
  const cleanups: (() => unknown)[] = [];
  const track = <T extends { socket: { close(): unknown } }>(s: T): T => (cleanups.push(() => s.socket.close()), s);

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi({ SSE_KEEPALIVE_MS: '1000' }), startApi({ SSE_KEEPALIVE_MS: '1000' })]);
    redis = testRedis();
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await fn();
  });
  afterAll(async () => {
    await redis?.quit();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('ends the sockets and SSE streams of a logged-out bearer token on every process, and only those', async () => {
    const user = await registerUser(a.url, 'bearer-logout');
    const [t1, t2] = [await tokenClient(user, a.url), await tokenClient(user, a.url)];
    const roomId = (await t2.post('/api/chat/rooms', { name: 'r', memberIds: [] })).body.id as number;
    const revokedOnB = track(openSocket(b.url, '/chat', { token: t1.token }));
    const revokedOnA = track(openSocket(a.url, '/realtime', { token: t1.token }));
    const otherToken = track(openSocket(b.url, '/chat', { token: t2.token }));
    for (const s of [revokedOnB, revokedOnA, otherToken]) await s.next('authenticated');
    expect(await ack(revokedOnB.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    expect(await ack(otherToken.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    const sse = openSse(`${b.url}/api/realtime/events`, { authorization: `Bearer ${t1.token}` });
    cleanups.push(() => sse.close());
    await sse.opened();
    const endedB = serverDisconnect(revokedOnB);
    const endedA = serverDisconnect(revokedOnA);

    expect((await t1.post('/api/auth/logout')).status).toBe(204);
    const loggedOutAt = Date.now();
    expect(await revokedOnB.next('error', REACH_MS)).toMatchObject({ code: 'session_ended' });
    expect(await revokedOnA.next('error', REACH_MS)).toMatchObject({ code: 'session_ended' });
    const [atB, atA] = await Promise.all([endedB, endedA]);
    await waitFor(async () => sse.state.ended, REACH_MS, 20);
    expect(Math.max(atA, atB, sse.state.endedAt) - loggedOutAt).toBeLessThan(REACH_MS);
    expect(revokedOnB.socket.connected).toBe(false);

    // The user's other token and its socket are untouched; the revoked token opens nothing any more.
    const posted = await t2.post(`/api/chat/rooms/${roomId}/messages`, { body: 'still here' });
    expect(posted.status).toBe(201);
    expect(await otherToken.next('message:new')).toMatchObject({ body: 'still here' });
    expect((await t1.on(b.url).get('/api/auth/me')).status).toBe(401);
    const retry = openSse(`${a.url}/api/realtime/events`, { authorization: `Bearer ${t1.token}` });
    cleanups.push(() => retry.close());
    await waitFor(async () => retry.state.status !== 0);
    expect(retry.state.status).toBe(401);
    expect(revokedOnB.received.filter((r) => r.event === 'message:new')).toHaveLength(0);
  });

  it('ends the sockets and SSE streams of a destroyed session, not those of the same user\'s token', async () => {
    const user = await registerUser(a.url, 'cookie-logout');
    const token = await tokenClient(user, a.url);
    const cookie = user.client.cookieHeader;
    const viaCookie = track(openSocket(b.url, '/notifications', { cookie }));
    const viaToken = track(openSocket(b.url, '/notifications', { token: token.token }));
    await Promise.all([viaCookie.next('authenticated'), viaToken.next('authenticated')]);
    const sse = openSse(`${b.url}/api/realtime/events`, { cookie });
    cleanups.push(() => sse.close());
    await sse.opened();
    const ended = serverDisconnect(viaCookie);

    expect((await user.client.post('/api/auth/logout')).status).toBe(204);
    const loggedOutAt = Date.now();
    expect(await viaCookie.next('error', REACH_MS)).toMatchObject({ code: 'session_ended' });
    expect((await ended) - loggedOutAt).toBeLessThan(REACH_MS);
    await waitFor(async () => sse.state.ended, REACH_MS, 20);

    await new Promise((r) => setTimeout(r, 300));
    expect(viaToken.socket.connected).toBe(true);
    expect(viaToken.received.some((r) => r.event === 'error')).toBe(false);
    expect((await token.get('/api/auth/me')).status).toBe(200);
  });

  it('logout-all revokes every token and session of the user and ends all their connections', async () => {
    const user = await registerUser(a.url, 'logout-all');
    const secondDevice = new HttpClient(b.url);
    expect((await secondDevice.post('/api/auth/login', { email: user.email, password: user.password })).status).toBe(200);
    const [t1, t2] = [await tokenClient(user, b.url), await tokenClient(user, a.url)];
    const bystander = await registerTokenUser(a.url, 'bystander');
    const sockets = [
      track(openSocket(a.url, '/chat', { cookie: user.client.cookieHeader })),
      track(openSocket(b.url, '/realtime', { cookie: secondDevice.cookieHeader })),
      track(openSocket(b.url, '/chat', { token: t1.token })),
      track(openSocket(a.url, '/notifications', { token: t2.token })),
    ];
    const other = track(openSocket(b.url, '/realtime', { token: bystander.client.token }));
    await Promise.all([...sockets, other].map((s) => s.next('authenticated')));
    const sse = openSse(`${a.url}/api/realtime/events`, { authorization: `Bearer ${t2.token}` });
    cleanups.push(() => sse.close());
    await sse.opened();
    const ended = sockets.map(serverDisconnect);

    expect((await t1.post('/api/auth/logout-all')).status).toBe(204);
    const loggedOutAt = Date.now();
    for (const s of sockets) expect(await s.next('error', REACH_MS)).toMatchObject({ code: 'session_ended' });
    const times = await Promise.all(ended);
    await waitFor(async () => sse.state.ended, REACH_MS, 20);
    expect(Math.max(...times) - loggedOutAt).toBeLessThan(REACH_MS);

    for (const c of [user.client, secondDevice, t1, t2]) {
      for (const url of [a.url, b.url]) expect((await c.on(url).get('/api/auth/me')).status).toBe(401);
    }
    expect(other.socket.connected).toBe(true);
    expect((await bystander.client.get('/api/auth/me')).status).toBe(200);
    // Signing in again afterwards works as before.
    const again = new HttpClient(b.url);
    expect((await again.post('/api/auth/login', { email: user.email, password: user.password })).status).toBe(200);
    expect((await again.get('/api/auth/me')).body.id).toBe(user.id);
    expect((await (await tokenClient({ ...user, client: again }, a.url)).get('/api/auth/me')).status).toBe(200);
    expect((await new HttpClient(a.url).post('/api/auth/logout-all')).status).toBe(401);
  });

  it('removing a project member stops their sockets and SSE streams on every process from receiving the project and its analyses', async () => {
    const [owner, member] = await users(a.url, 'p-owner', 'p-member');
    const project = await owner.client.post('/api/projects', { name: 'revocable', memberIds: [member.id] });
    expect(project.status).toBe(201);
    const projectId = project.body.id as number;
    const analysis = await owner.client.post(`/api/projects/${projectId}/analyses`, { stations: 1 });
    expect(analysis.status).toBe(202);
    const analysisId = analysis.body.analysisId as number;
    const rooms = [`project:${projectId}`, `analysis:${analysisId}`];

    const ownerSocket = track(openSocket(a.url, '/realtime', { token: owner.client.token }));
    const memberSockets = [track(openSocket(b.url, '/realtime', { token: member.client.token })), track(openSocket(a.url, '/realtime', { token: member.client.token }))];
    for (const s of [ownerSocket, ...memberSockets]) {
      await s.next('authenticated');
      for (const room of rooms) expect(await ack(s.socket, 'subscribe', { room })).toEqual({ ok: true, room });
    }
    const sse = openSse(`${b.url}/api/realtime/events?rooms=${rooms.join(',')}`, { authorization: `Bearer ${member.client.token}` });
    cleanups.push(() => sse.close());
    await sse.opened();

    const worker = workerPublisher(redis);
    await worker.toRooms(rooms, 'analysis:progress', { analysisId, projectId, progress: 10 });
    for (const s of memberSockets) expect(await s.next('analysis:progress')).toMatchObject({ progress: 10 });
    await waitFor(async () => sse.events.some((e) => e.event === 'analysis:progress'));

    expect((await del(owner.client, `/api/projects/${projectId}/members/${member.id}`)).status).toBe(204);
    // Published right after the answer, from another process: the removal is ahead of it on every process.
    await worker.toRooms(rooms, 'analysis:progress', { analysisId, projectId, progress: 50 });
    await worker.toProject(projectId, 'analysis:completed', { analysisId, projectId, progress: 100 });
    expect(await ownerSocket.next('analysis:completed')).toMatchObject({ progress: 100 });
    await new Promise((r) => setTimeout(r, 500));
    for (const s of memberSockets) {
      expect(s.received.filter((r) => r.event.startsWith('analysis:')).map((r) => r.payload.progress)).toEqual([10]);
      expect(s.socket.connected).toBe(true); // only the rooms go, not the connection
    }
    expect(sse.events.filter((e) => e.event.startsWith('analysis:')).map((e) => e.data.progress)).toEqual([10]);

    for (const room of rooms) expect(await ack(memberSockets[0].socket, 'subscribe', { room })).toMatchObject({ ok: false, error: 'forbidden' });
    expect((await member.client.on(b.url).get(`/api/projects/${projectId}`)).status).toBe(403);
    expect((await del(owner.client, `/api/projects/${projectId}/members/${member.id}`)).status).toBe(404);
  });

  it('a removed member can neither subscribe again nor post while the replica has not seen the removal', async () => {
    const { name, control } = ownStack();
    const [owner, member] = await users(a.url, 'lag-owner', 'lag-member');
    const projectId = (await owner.client.post('/api/projects', { name: 'lagging', memberIds: [member.id] })).body.id as number;
    const roomId = (await owner.client.post('/api/chat/rooms', { name: 'lagging', memberIds: [member.id] })).body.id as number;
    await control.waitReplicaCaughtUp(name, 20000);
    const s = track(openSocket(b.url, '/chat', { token: member.client.token }));
    await s.next('authenticated');
    // The member's registration started its read-your-writes window (DB_STICKY_WINDOW_MS, 2 s): past it, its reads go to the replica.
    await new Promise((r) => setTimeout(r, 2100));
    await control.sql(name, 'replica', 'STOP SLAVE SQL_THREAD');
    try {
      expect((await del(owner.client, `/api/projects/${projectId}/members/${member.id}`)).status).toBe(204);
      expect((await del(owner.client, `/api/chat/rooms/${roomId}/members/${member.id}`)).status).toBe(204);
      // The member's own reads still go to the replica, which still lists them.
      expect((await member.client.on(b.url).get<{ id: number }[]>('/api/projects')).body.map((p: { id: number }) => p.id)).toContain(projectId);
      await waitFor(async () => {
        const r = await ack<{ ok: boolean; error?: string }>(s.socket, 'subscribe', { room: `project:${projectId}` });
        return r.ok === false && r.error === 'forbidden';
      }, 3000);
      expect(await ack(s.socket, 'room:join', { roomId })).toMatchObject({ ok: false, error: 'forbidden' });
      expect(await ack(s.socket, 'message:send', { roomId, body: 'removed but the replica says member' })).toMatchObject({ ok: false, error: 'forbidden' });
      expect((await member.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'over http' })).status).toBe(403);
    } finally {
      await control.sql(name, 'replica', 'START SLAVE SQL_THREAD');
      await control.waitReplicaCaughtUp(name, 20000);
    }
  });

  it('removing a chat room member stops message:new to their sockets at once; a member may leave; only the creator or an admin removes others', async () => {
    const [creator, m1, m2] = await users(a.url, 'c-creator', 'c-m1', 'c-m2');
    const roomId = (await creator.client.post('/api/chat/rooms', { name: 'r', memberIds: [m1.id, m2.id] })).body.id as number;
    const creatorSocket = track(openSocket(a.url, '/chat', { token: creator.client.token }));
    const m1Socket = track(openSocket(b.url, '/chat', { token: m1.client.token }));
    const m2Socket = track(openSocket(b.url, '/chat', { token: m2.client.token }));
    for (const s of [creatorSocket, m1Socket, m2Socket]) {
      await s.next('authenticated');
      expect(await ack(s.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    }

    expect((await del(m1.client, `/api/chat/rooms/${roomId}/members/${m2.id}`)).status).toBe(403);
    expect((await del(m1.client, `/api/chat/rooms/${roomId}/members/${creator.id}`)).status).toBe(403);
    expect((await del(creator.client, `/api/chat/rooms/${roomId}/members/${creator.id}`)).status).toBe(409);
    expect((await del(creator.client, `/api/chat/rooms/999999999/members/${m1.id}`)).status).toBe(404);
    expect((await del(creator.client, `/api/chat/rooms/${roomId}/members/abc`)).status).toBe(400);

    expect((await del(creator.client, `/api/chat/rooms/${roomId}/members/${m1.id}`)).status).toBe(204);
    expect((await creator.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'after m1 left' })).status).toBe(201);
    expect(await m2Socket.next('message:new')).toMatchObject({ body: 'after m1 left' });
    expect((await del(m2.client.on(b.url), `/api/chat/rooms/${roomId}/members/${m2.id}`)).status).toBe(204);
    expect(await ack(creatorSocket.socket, 'message:send', { roomId, body: 'after m2 left' })).toMatchObject({ ok: true });
    expect(await creatorSocket.next('message:new')).toMatchObject({ body: 'after m1 left' });
    expect(await creatorSocket.next('message:new')).toMatchObject({ body: 'after m2 left' });
    await new Promise((r) => setTimeout(r, 500));
    expect(m1Socket.received.filter((r) => r.event === 'message:new')).toHaveLength(0);
    expect(m2Socket.received.filter((r) => r.event === 'message:new').map((r) => r.payload.body)).toEqual(['after m1 left']);
    expect(await ack(m1Socket.socket, 'room:join', { roomId })).toMatchObject({ ok: false, error: 'forbidden' });
    expect((await m1.client.get(`/api/chat/rooms/${roomId}/messages`)).status).toBe(403);
    const rooms = (await creator.client.get('/api/chat/rooms')).body as { id: number; memberIds: number[] }[];
    expect(rooms.find((r) => r.id === roomId)?.memberIds).toEqual([creator.id]);
  });

  it('a removed member whose socket reconnects (recovery, another process) gets neither the room back nor what it carried meanwhile', async () => {
    const [creator, member] = await users(a.url, 'r-creator', 'r-member');
    const roomId = (await creator.client.post('/api/chat/rooms', { name: 'r', memberIds: [member.id] })).body.id as number;
    const proxy = new SwitchingProxy(b.port);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const s = track(openSocket(proxy.url, '/chat', { token: member.client.token, reconnection: true }));
    expect((await s.next<{ recovered: boolean }>('connected')).recovered).toBe(false);
    await s.next('authenticated');
    expect(await ack(s.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    expect((await creator.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'before' })).status).toBe(201);
    expect(await s.next('message:new')).toMatchObject({ body: 'before' });

    await proxy.cut();
    await waitFor(async () => !s.socket.connected);
    expect((await del(creator.client, `/api/chat/rooms/${roomId}/members/${member.id}`)).status).toBe(204);
    expect((await creator.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'while away' })).status).toBe(201);
    proxy.targetPort = a.port;
    const back = await s.next<{ recovered: boolean }>('connected', 20000);
    expect(back.recovered).toBe(true);
    await s.next('authenticated');
    expect((await creator.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'after' })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 500));
    expect(s.received.filter((r) => r.event === 'message:new').map((r) => r.payload.body)).toEqual(['before']);
  });
});
