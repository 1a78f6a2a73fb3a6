import { spawn } from 'node:child_process';
import { outsideAddress, tcpReachable } from '../support/network';
import { join } from 'node:path';
import { createAdmin } from '../support/admin';
import { ApiProcess, freePort, ManagedProcess, ROOT, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';
import { ack, openSocket, readSse } from './realtime-helpers';

/** issue 11, items 1, 4, 8 and 11: inputs that could stop a process, admin-only views, odd Last-Event-IDs, bind addresses. */
describe('hardening: no request stops the api, admin-only means admin-only, loss is never silent', () => {
  let api: ApiProcess;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    api = await startApi();
    [alice, bob, admin] = await Promise.all([registerTokenUser(api.url, 'alice'), registerTokenUser(api.url, 'bob'), createAdmin(api.url)]);
  });
  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await fn();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const alive = async () => {
    expect(api.running).toBe(true);
    expect((await fetch(`${api.url}/livez`)).status).toBe(200);
  };
  const raw = (path: string, init: RequestInit = {}) => fetch(api.url + path, { ...init, signal: AbortSignal.timeout(20000) });

  describe('§1 bounded input', () => {
    it('answers a 130,000-item JSON array with 413 on every route, before authentication, and keeps running', async () => {
      const wide = `[${new Array(130_000).fill('0').join(',')}]`;
      for (const path of ['/livez', '/api/auth/login', '/api/projects', '/api/nope']) {
        const r = await raw(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: wide });
        expect(r.status).toBe(413);
        expect(await r.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large', message: 'Request body has more than 10000 elements' });
      }
      // The same as a form body, which the urlencoded parser turns into an object of as many keys.
      const form = await raw('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&'.repeat(20_000) });
      expect([400, 413]).toContain(form.status);
      await alive();
    });

    it('refuses 100,000 memberIds with 413 and creates nothing', async () => {
      const before = (await alice.client.get('/api/projects')).body.length as number;
      const ids = Array.from({ length: 100_000 }, (_, i) => i + 1);
      const project = await alice.client.post('/api/projects', { name: 'huge', memberIds: ids });
      expect(project.status).toBe(413);
      const room = await alice.client.post('/api/chat/rooms', { memberIds: ids });
      expect(room.status).toBe(413);
      expect((await alice.client.get('/api/projects')).body).toHaveLength(before);
      await alive();
    });

    it('refuses a query string with thousands of parameters with 400, and oversized headers with 431', async () => {
      // 1,000 parameters in 4 KB: under the request-line limit, and exactly how many Express kept, dropping the rest.
      const query = 'k=1&'.repeat(1000);
      const r = await alice.client.get(`/api/notifications?${query}`);
      expect(r.status).toBe(400);
      expect(r.body.message).toBe('Query string has more than 100 parameters');
      const anon = await raw(`/livez?${query}`);
      expect(anon.status).toBe(400);
      const headers: Record<string, string> = {};
      for (let i = 0; i < 300; i++) headers[`x-pad-${i}`] = 'x'.repeat(100);
      expect((await raw('/api/auth/me', { headers })).status).toBe(431);
      await alive();
    });

    it('answers socket payloads with huge arrays or deep nesting bad_request', async () => {
      const s = openSocket(api.url, '/chat', { token: alice.client.token });
      cleanups.push(() => s.socket.close());
      await s.next('authenticated');
      const wide = await ack(s.socket, 'message:send', { roomId: 1, body: 'x', extra: new Array(50_000).fill(0) });
      expect(wide).toMatchObject({ ok: false, error: 'bad_request', message: 'Payload has more than 10000 elements' });
      let deep: unknown = 1;
      for (let i = 0; i < 1000; i++) deep = [deep];
      expect(await ack(s.socket, 'subscribe', deep)).toMatchObject({ ok: false, error: 'bad_request' });
      await alive();
    });
  });

  describe('§4 admin-only', () => {
    it('serves /api/realtime/stats to admins only', async () => {
      expect((await alice.client.get('/api/realtime/stats')).status).toBe(403);
      expect((await raw('/api/realtime/stats')).status).toBe(401);
      const r = await admin.client.get('/api/realtime/stats');
      expect(r.status).toBe(200);
      expect(r.body).toHaveProperty('websocket.total');
    });

    it('answers presence only about users who share a project or room with the caller', async () => {
      const carol = await registerTokenUser(api.url, 'carol');
      const s = openSocket(api.url, '/realtime', { token: carol.client.token });
      cleanups.push(() => s.socket.close());
      await s.next('authenticated');
      const presence = async (who: TestUser) => (await who.client.get(`/api/realtime/presence?userIds=${carol.id},${who.id}`)).body.online as number[];
      await waitFor(async () => (await presence(admin)).includes(carol.id));
      // A stranger learns nothing about carol; once they share a project, they do.
      expect(await presence(bob)).toEqual([]);
      // Asked only about strangers (the fuzz run found this a 500 once).
      const onlyCarol = await bob.client.get(`/api/realtime/presence?userIds=${carol.id}`);
      expect([onlyCarol.status, onlyCarol.body]).toEqual([200, { online: [] }]);
      expect((await carol.client.post('/api/projects', { name: 'shared', memberIds: [bob.id] })).status).toBe(201);
      expect(await presence(bob)).toEqual([carol.id]);
      // The same through a chat room.
      const dave = await registerTokenUser(api.url, 'dave');
      expect(await presence(dave)).toEqual([]);
      expect((await dave.client.post('/api/chat/rooms', { memberIds: [carol.id] })).status).toBe(201);
      expect(await presence(dave)).toEqual([carol.id]);
    });
  });

  describe('§8 odd Last-Event-ID values', () => {
    async function publishToSelf(user: TestUser, marker: string): Promise<number> {
      const r = await admin.client.post('/api/realtime/test', { eventType: 'system:info', payload: { marker }, room: `user:${user.id}`, target: 'sse' });
      expect(r.status).toBe(202);
      return Number(r.body.eventId);
    }
    async function openStream(user: TestUser, headers: Record<string, string>, query = '') {
      const ctrl = new AbortController();
      cleanups.push(() => ctrl.abort());
      return fetch(`${api.url}/api/realtime/events${query}`, { headers: { authorization: `Bearer ${user.client.token}`, ...headers }, signal: ctrl.signal });
    }

    it.each([
      ['an id beyond the newest', (newest: number) => String(newest + 1000)],
      ['an id past Number.MAX_SAFE_INTEGER', () => '9007199254740993'],
      ['a 40-digit id', () => '9'.repeat(40)],
    ])('answers %s with gap, then delivers new events', async (_what, id) => {
      const user = await registerTokenUser(api.url, 'sse-odd');
      const newest = await publishToSelf(user, 'before');
      const res = await openStream(user, { 'Last-Event-ID': id(newest) });
      expect(res.status).toBe(200);
      expect(res.headers.get('last-event-id-status')).toBe('gap');
      const next = publishToSelf(user, 'after');
      const events = await readSse(res, 1, 10000);
      expect(events.map((e) => e.data.marker)).toEqual(['after']);
      expect(Number(events[0].id)).toBe(await next);
    });

    it.each([
      ['not a whole number', { 'Last-Event-ID': '1.5' }, ''],
      ['given twice as a parameter', {}, '?lastEventId=1&lastEventId=2'],
      ['given as header and parameter that disagree', { 'Last-Event-ID': '1' }, '?lastEventId=2'],
      ['a header listing two ids', { 'Last-Event-ID': '1, 2' }, ''],
    ])('answers an id %s with 400', async (_what, headers, query) => {
      const res = await openStream(alice, headers, query);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/Last-Event-ID|lastEventId/);
    });

    it('acknowledges unknown socket events with unknown_event on every namespace', async () => {
      for (const nsp of ['/realtime', '/chat', '/notifications']) {
        const t = openSocket(api.url, nsp, { token: alice.client.token });
        cleanups.push(() => t.socket.close());
        await t.next('connected');
        expect(await ack(t.socket, 'no:such-event', { a: 1 })).toEqual({ ok: false, error: 'unknown_event', message: 'Unknown event "no:such-event"' });
        // `error` is a name the server itself uses on sockets: from a client it is just unknown.
        expect(await ack(t.socket, 'error', { boom: true })).toMatchObject({ ok: false, error: 'unknown_event' });
        // Known events keep working on the same socket.
        expect(await ack(t.socket, 'subscribe', { room: `user:${alice.id}` })).toMatchObject({ ok: true });
      }
    });

    it('still replays from a known id with replayed', async () => {
      const user = await registerTokenUser(api.url, 'sse-known');
      const first = await publishToSelf(user, 'one');
      await publishToSelf(user, 'two');
      const res = await openStream(user, { 'Last-Event-ID': String(first) });
      expect(res.headers.get('last-event-id-status')).toBe('replayed');
      expect((await readSse(res, 1, 10000)).map((e) => e.data.marker)).toEqual(['two']);
    });
  });

  describe('§11 listen addresses', () => {
    const outside = outsideAddress();
    const reachable = tcpReachable;

    it('has a non-loopback address to test from', () => {
      expect(outside).toBeDefined();
    });

    it('binds the api to loopback by default and to HOST when set', async () => {
      expect(await reachable('127.0.0.1', api.port)).toBe(true);
      expect(await reachable(outside as string, api.port)).toBe(false);
      const open = await startApi({ HOST: '0.0.0.0' });
      cleanups.push(() => open.stop());
      expect(await reachable(outside as string, open.port)).toBe(true);
    });

    it('binds worker metrics to loopback by default', async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'switchboard'), 'queue:work', '--queue=hardening-idle'], {
        cwd: ROOT,
        env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn', NODE_ENV: 'test', METRICS_PORT: String(port), QUEUE_NAMES: 'hardening-idle' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const worker = new ManagedProcess(child, 'worker');
      cleanups.push(() => worker.stop());
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).status === 200, 30000).catch((err: Error) => {
        throw new Error(`${err.message}\n${worker.logs()}`);
      });
      expect(await reachable(outside as string, port)).toBe(false);
    });
  });

  it('is still serving after all of the above', async () => {
    await alive();
    expect(api.logs()).not.toMatch(/RangeError|Maximum call stack|uncaught/i);
  });
});
