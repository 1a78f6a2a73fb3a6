import { createServer, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, Socket } from 'socket.io';
import { io, Socket as ClientSocket } from 'socket.io-client';
import { checkPreConnectSockets } from '../patches/socket-io';
import type { EventLog } from './event-log';
import { recoveryAdapter } from './recovery-adapter';
import type { RedisClient } from '../redis/redis.factory';
import { SocketSessionStore, StoredSession } from './socket-sessions';

/**
 * The recovery adapter against the installed socket.io, in this process: a real server and real
 * clients; only the session store (a Map) and the history (always covered) stand in for Redis.
 */
describe('recoveryAdapter with socket.io', () => {
  const stored = new Map<string, string>();
  /** The store's bookkeeping of claims under way (no Redis in it); Redis itself is the Map above. */
  const claims = new SocketSessionStore({} as RedisClient, '', 60_000);
  const sessions = {
    load: async (pid: string) => (stored.has(pid) ? (JSON.parse(stored.get(pid)!) as StoredSession) : null),
    claim: async (pid: string) => {
      const raw = stored.get(pid); // GETDEL
      stored.delete(pid);
      return raw ? (JSON.parse(raw) as StoredSession) : null;
    },
    openClaim: (sid: string) => claims.openClaim(sid),
    handToClaim: (sid: string, room: string) => claims.handToClaim(sid, room),
  } as unknown as SocketSessionStore;
  /** What the history read does besides answering (a test's own step, in the middle of a recovery). */
  let whileReading = async (): Promise<void> => undefined;
  const log = {
    parse: () => ({ kind: 'at', position: [1] }),
    readAfter: async () => {
      await whileReading();
      return { gap: false, events: [] };
    },
  } as unknown as EventLog;

  let http: HttpServer;
  let server: Server;
  let url: string;
  const clients: ClientSocket[] = [];
  /** Sockets whose middleware waits until the test lets them go (by the `hold` field of their handshake auth). */
  const held = new Map<string, () => void>();

  beforeEach(async () => {
    stored.clear();
    http = createServer();
    server = new Server(http, { adapter: recoveryAdapter(log, sessions) as never, connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: false } });
    server.use((socket, next) => {
      const hold = (socket.handshake.auth as { hold?: string }).hold;
      if (hold) held.set(hold, () => next());
      else next();
    });
    server.on('connection', (socket: Socket) => void socket.join('room'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    whileReading = async () => undefined;
    for (const c of clients.splice(0)) c.close();
    held.clear();
    await server.close();
  });

  /** A client that resumes session `pid` (socket.io-client sends its `_pid` and `_lastOffset`, and says `recovered` when the server kept the pid). */
  const connect = (pid: string, auth: Record<string, string> = {}): ClientSocket => {
    const c = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, autoConnect: false, auth });
    Object.assign(c, { _pid: pid, _lastOffset: '1' });
    clients.push(c.connect());
    return c;
  };
  const connected = (c: ClientSocket) => new Promise<void>((resolve) => (c.connected ? resolve() : c.once('connect', () => resolve())));
  const until = async (what: () => boolean, ms = 2000) => {
    for (const end = Date.now() + ms; !what(); ) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const session = (sid: string, pid: string, rooms: string[] = []): StoredSession => ({ sid, pid, nsp: '/', userId: 1, rooms });
  /** The rooms the recovered socket's pending recovery carries (socket.io hands the session's data to the socket). */
  const recoveredRooms = () =>
    new Promise<string[]>((resolve) => server.once('connection', (s: Socket) => resolve((s.data as { recovery?: { rooms: string[] } }).recovery?.rooms ?? [])));

  it('checks the namespace field it reads on the installed socket.io', () => {
    expect(checkPreConnectSockets(server.of('/'))).toMatchObject({ ok: true, library: 'socket.io' });
    expect(checkPreConnectSockets({})).toMatchObject({ ok: false, reason: 'Namespace has no _preConnectSockets map' });
  });

  it('recovers a stored session under its socket id', async () => {
    stored.set('p1', JSON.stringify(session('sid-1', 'p1')));
    const c = connect('p1');
    await connected(c);
    expect(c.id).toBe('sid-1');
    expect(c.recovered).toBe(true);
    expect(stored.has('p1')).toBe(false); // consumed
  });

  it('recovers the rooms the session lists when it is consumed, and those handed over while it was being read', async () => {
    stored.set('p1', JSON.stringify(session('sid-1', 'p1', ['project:1'])));
    whileReading = async () => {
      // Meanwhile: the session is written again with a room (a subscribe that finished on the old socket,
      // on another process), and on this process a subscribe on an ended socket of this id hands one over.
      stored.set('p1', JSON.stringify(session('sid-1', 'p1', ['project:1', 'project:2'])));
      expect(sessions.handToClaim('sid-1', 'project:3')).toBe(true);
    };
    const rooms = recoveredRooms();
    const c = connect('p1');
    await connected(c);
    expect(c.recovered).toBe(true);
    expect((await rooms).sort()).toEqual(['project:1', 'project:2', 'project:3']);
    // Nothing is under way once the claim is done: a late hand-over finds nobody (and the room goes to the stored session).
    expect(sessions.handToClaim('sid-1', 'project:4')).toBe(false);
  });

  it('a recovery beside a socket of the same id still in the middlewares starts afresh, and stays in its rooms when that one is dropped', async () => {
    stored.set('p1', JSON.stringify(session('sid-1', 'p1')));
    const first = connect('p1', { hold: 'first' });
    await until(() => held.has('first')); // restored as sid-1, waiting in the middleware
    first.close(); // its client gives up on that handshake
    // The session is there again (a late save of the socket it took over, or a second read of it).
    stored.set('p1', JSON.stringify(session('sid-1', 'p1')));
    const second = connect('p1');
    await connected(second);
    // socket.io now drops the first one (its connection is closed): its clean-up is by id.
    held.get('first')!();
    await new Promise((r) => setTimeout(r, 50));
    const got = new Promise<string>((resolve) => second.once('news', resolve));
    server.to('room').emit('news', 'after');
    await expect(Promise.race([got, new Promise((r) => setTimeout(() => r('nothing within 1 s'), 1000))])).resolves.toBe('after');
    expect(second.connected).toBe(true);
    // It was not recovered: a new id, and its client knows to refetch.
    expect(second.recovered).toBe(false);
    expect(second.id).not.toBe('sid-1');
  });

  it('of two recoveries that read the same session at once, only one recovers it', async () => {
    stored.set('p1', JSON.stringify(session('sid-1', 'p1')));
    const load = sessions.load.bind(sessions);
    let loads = 0;
    // Both reads see the session before either removes it.
    (sessions as { load: typeof load }).load = async (pid: string) => {
      const s = await load(pid);
      loads++;
      await until(() => loads >= 2);
      return s;
    };
    try {
      const a = connect('p1');
      const b = connect('p1');
      await Promise.all([connected(a), connected(b)]);
      expect([a.recovered, b.recovered].sort()).toEqual([false, true]);
      expect(new Set([a.id, b.id]).size).toBe(2);
    } finally {
      (sessions as { load: typeof load }).load = load;
    }
  });
});
