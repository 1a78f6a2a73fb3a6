import { createAdmin } from '../support/admin';
import { AccessLine, accessLog, allApisUp, ClusterHandle, clusterScript, freeBase, upstreamPort } from '../support/cluster';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';
import { io, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client';
import { ack, once, openSocket } from './realtime-helpers';

/**
 * Sockets through the production topology: a real nginx (address hash, WebSocket upgrade) in front of
 * three api processes run by a real supervisord (scripts/cluster.js, as `npm run up -- --instances 3`).
 * The clients talk to nginx only; which process holds a socket is read from the api's own
 * per-process stats and from nginx's access log.
 */
const INSTANCES = 3;

async function createRoom(u: TestUser): Promise<number> {
  const res = await u.client.post('/api/chat/rooms', { name: 'room', memberIds: [] });
  expect(res.status).toBe(201);
  return (res.body as { id: number }).id;
}

/** nginx's log lines for one Engine.IO session (every request after the handshake carries `sid=`). */
function sessionLines(cluster: ClusterHandle, sid: string): AccessLine[] {
  return accessLog(cluster).filter((l) => l.uri.startsWith('/socket.io/') && l.uri.includes(`sid=${encodeURIComponent(sid)}`));
}

describe('realtime through nginx + supervisord (cluster mode)', () => {
  jest.setTimeout(300000);
  let cluster: ClusterHandle;
  let admin: TestUser | undefined;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    const port = await freeBase(INSTANCES + 1);
    cluster = await clusterScript.start({
      instances: INSTANCES,
      port,
      env: { ...stackEnv(), NODE_ENV: 'test', LOG_LEVEL: 'info' },
      name: `e2e-rt-${process.env.SWITCHBOARD_STACK || 'given'}`,
      readyTimeoutMs: 180000,
    });
    await allApisUp(cluster);
  });

  afterEach(async () => {
    for (const fn of cleanups.splice(0)) await fn();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** The api ports whose processes report a member of `room` (live processes, 2 s heartbeat), `except` left out. */
  // `user` names whose room is asked about; the stats themselves are admin only (SPEC §4).
  async function holders(user: TestUser, room: string, except?: number): Promise<number[]> {
    // The stats are admin-only (they name every client's rooms); the same admin reads them through nginx.
    admin ??= await createAdmin(user.client.baseUrl);
    const res = await admin.client.get('/api/realtime/stats');
    expect(res.status).toBe(200);
    const ports: number[] = [];
    for (const p of res.body.processes as { instance: string; rooms: Record<string, number> }[]) {
      const port = Number(/-api-(\d+)$/.exec(p.instance)?.[1]);
      if ((p.rooms[room] ?? 0) > 0 && cluster.apiPorts.includes(port) && port !== except) ports.push(port);
    }
    return ports;
  }

  it('starts a socket on HTTP long-polling, authenticates, upgrades to WebSocket and gets a room message posted over HTTP', async () => {
    const user = await registerTokenUser(cluster.url, 'upgrader');
    const roomId = await createRoom(user);
    const s = openSocket(cluster.url, '/chat', { token: user.client.token, transports: ['polling', 'websocket'] });
    cleanups.push(() => s.socket.close());
    const engine = s.socket.io.engine;
    expect(engine.transport.name).toBe('polling');
    const upgraded = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no upgrade within 30 s')), 30000);
      engine.once('upgrade', (transport: { name: string }) => {
        clearTimeout(timer);
        resolve(transport.name);
      });
    });

    expect((await s.next<{ recovered: boolean }>('connected', 30000)).recovered).toBe(false);
    expect(await s.next('authenticated')).toEqual({ userId: user.id });
    expect(await upgraded).toBe('websocket');
    expect(s.socket.io.engine.transport.name).toBe('websocket');

    expect(await ack(s.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    const posted = await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'over the upgraded socket' });
    expect(posted.status).toBe(201);
    expect(await s.next('message:new')).toMatchObject({ body: 'over the upgraded socket', roomId, eventType: 'message:new' });
    expect(s.socket.io.engine.transport.name).toBe('websocket');

    // nginx's view: the polls and the upgrade (101, logged when the WebSocket closes) of this
    // Engine.IO session all went to one api process, the one that reports the socket in its room.
    const room = `/chat#chat:${roomId}`;
    const holder = await waitFor(async () => {
      const h = await holders(user, room);
      return h.length === 1 && h[0];
    }, 20000);
    const sid = engine.id;
    s.socket.close();
    const lines = await waitFor(async () => {
      const l = sessionLines(cluster, sid);
      return l.some((x) => x.uri.includes('transport=websocket')) && l;
    }, 20000);
    expect(lines.filter((l) => l.uri.includes('transport=polling')).length).toBeGreaterThan(0);
    expect(lines.find((l) => l.uri.includes('transport=websocket'))?.status).toBe(101);
    expect([...new Set(lines.map(upstreamPort))]).toEqual([holder]);
  });

  it('spreads sockets from the addresses of one /24 over every api process, each address staying on one process', async () => {
    const user = await registerTokenUser(cluster.url, 'spread');
    // 127.0.0.0/8 is all loopback: 24 client addresses of one /24, as behind one NAT (ip_hash: one bucket, one process).
    const addresses = Array.from({ length: 24 }, (_, i) => `127.0.0.${20 + i}`);
    const open = (localAddress: string) =>
      new Promise<ClientSocket>((resolve, reject) => {
        const opts = { auth: { token: user.client.token }, transports: ['websocket'], forceNew: true, reconnection: false, localAddress };
        const socket = io(`${cluster.url}/chat`, opts as Partial<ManagerOptions & SocketOptions>);
        cleanups.push(() => socket.close());
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    // Twice from every address: the second lands where the first did (what polling needs).
    for (let round = 0; round < 2; round++) for (const s of await Promise.all(addresses.map(open))) s.close();
    // nginx logs a WebSocket request when it ends.
    const upgrades = await waitFor(async () => {
      const lines = accessLog(cluster).filter((l) => l.status === 101 && addresses.includes(l.remote_addr));
      return lines.length >= addresses.length * 2 && lines;
    }, 20000);
    const portsOf = new Map<string, Set<number>>();
    for (const l of upgrades) portsOf.set(l.remote_addr, (portsOf.get(l.remote_addr) ?? new Set<number>()).add(upstreamPort(l)));
    expect(addresses.filter((a) => portsOf.get(a)?.size !== 1)).toEqual([]);
    const perProcess = cluster.apiPorts.map((p) => addresses.filter((a) => portsOf.get(a)?.has(p)).length);
    expect(perProcess.every((n) => n > 0)).toBe(true);
  });

  it('moves a socket of a SIGKILLed api process to another process through nginx, with what it missed, in order; supervisord starts the process again', async () => {
    const user = await registerTokenUser(cluster.url, 'survivor');
    const roomId = await createRoom(user);
    const s = openSocket(cluster.url, '/chat', { token: user.client.token, transports: ['polling', 'websocket'] });
    cleanups.push(() => s.socket.close());
    await s.next('connected', 30000);
    expect(await ack(s.socket, 'room:join', { roomId })).toEqual({ ok: true, roomId });
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'before' })).status).toBe(201);
    await s.next('message:new');

    // The process holding the socket: the api's per-process stats, confirmed by nginx's log.
    const room = `/chat#chat:${roomId}`;
    const victimPort = await waitFor(async () => {
      const h = await holders(user, room);
      return h.length === 1 && h[0];
    }, 20000);
    const firstSid = s.socket.io.engine.id;
    expect([...new Set(sessionLines(cluster, firstSid).map(upstreamPort))]).toEqual([victimPort]);
    const program = cluster.apiProgram(victimPort);
    const oldPid = await cluster.pidOf(program);
    expect(oldPid).toBeGreaterThan(0);

    // The client stays away (no automatic reconnection) while three messages are posted, then
    // reconnects by itself through nginx, offering its session id and last offset.
    const disconnected = once(s.socket, 'disconnect', 30000);
    process.kill(oldPid, 'SIGKILL');
    await disconnected;
    // nginx does not resend a POST to the next upstream (not idempotent): the first one after the kill
    // may get 502/503 until nginx marks the dead process failed; a client retries those.
    const postOnce = async (body: string) => {
      const r = await waitFor(async () => {
        const res = await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body });
        if (res.status === 502 || res.status === 503) return undefined;
        return res;
      }, 15000, 200);
      expect(r.status).toBe(201);
    };
    for (let i = 1; i <= 3; i++) await postOnce(`missed ${i}`);
    const reconnected = s.next<{ recovered: boolean }>('connected', 60000);
    s.socket.connect();
    expect((await reconnected).recovered).toBe(true);
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'live 4' })).status).toBe(201);
    await waitFor(async () => s.received.filter((r) => r.event === 'message:new').length >= 5, 30000);
    await new Promise((r) => setTimeout(r, 500));
    const news = s.received.filter((r) => r.event === 'message:new');
    expect(news.map((r) => r.payload.body)).toEqual(['before', 'missed 1', 'missed 2', 'missed 3', 'live 4']);
    const ids = news.map((r) => Number(r.payload.eventId));
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);

    // Now on another process: nginx sent the new session elsewhere, and that process has the room.
    const secondSid = s.socket.io.engine.id;
    expect(secondSid).not.toBe(firstSid);
    const newPorts = await waitFor(async () => {
      const ports = new Set(sessionLines(cluster, secondSid).map(upstreamPort));
      return ports.size > 0 && [...ports];
    }, 20000);
    expect(newPorts).toHaveLength(1);
    expect(newPorts[0]).not.toBe(victimPort);
    expect(cluster.apiPorts).toContain(newPorts[0]);
    await waitFor(async () => (await holders(user, room, victimPort)).includes(newPorts[0]), 20000);

    // supervisord noticed the exit and started the same program again: a new pid, answering, RUNNING.
    await waitFor(async () => {
      const pid = await cluster.pidOf(program);
      return pid > 0 && pid !== oldPid;
    }, 60000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${victimPort}/up`).catch(() => null))?.status === 200, 120000, 500);
    await waitFor(async () => /RUNNING/.test(await cluster.ctl(['status', program])), 30000, 500);
    // The recovered socket still works after the restart.
    expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'after restart' })).status).toBe(201);
    await waitFor(async () => s.received.some((r) => r.event === 'message:new' && r.payload.body === 'after restart'), 20000);
  });
});
