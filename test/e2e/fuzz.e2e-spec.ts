import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { createAdmin } from '../support/admin';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, registerUser, TestUser } from '../support/http-client';
import { HttpCase, httpCase, NAMESPACES, OWN, SocketCase, socketCase } from './fuzz-arbitraries';

/**
 * SPEC §10: no input stops a process. A seeded property-based run throws
 * generated HTTP requests at every route (with every kind of caller) and
 * generated events at every namespace, and checks that the api is still up
 * and that every answer is one the contract documents. `npm test` runs a
 * bounded number; `npm run fuzz -- --runs=N [--seed=S]` runs more. A failure
 * prints the seed and path that replay it (FUZZ_SEED, FUZZ_PATH).
 */
const RUNS = Number(process.env.FUZZ_RUNS || 10_000);
const SEED = Number(process.env.FUZZ_SEED || 20261203);
const PATH = process.env.FUZZ_PATH || undefined;
/** Cases sent at once per property run: the api sees concurrent bad input, and the run fits CI. */
const BATCH = 8;

/** Statuses SPEC §4 names, plus what Node answers for oversized headers. 500 is never one of them. */
const HTTP_STATUSES = new Set([200, 201, 202, 204, 302, 304, 400, 401, 403, 404, 409, 413, 415, 429, 431, 503]);
/** Ack error codes of SPEC §5. */
const ACK_CODES = new Set(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'room_limit', 'rate_limited', 'unknown_event', 'session_ended', 'maintenance', 'conflict', 'payload_too_large']);
/** What the run saw, printed at the end: a run that only ever got 401s or timeouts would prove little. */
const seen = { http: new Map<number, number>(), acks: new Map<string, number>() };
const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
const LEAK = /\bat .+\.[jt]s:\d+|QueryFailedError|node_modules|ER_[A-Z_]+/;

/**
 * fc.assert would print the whole failing batch (megabytes, with the wide and deep bodies); this
 * names what went wrong and how to replay it. No shrinking: each run is a batch sent at once.
 */
async function checkProperty<T>(property: fc.IAsyncProperty<T>, seed: number): Promise<void> {
  const details = await fc.check(property, { seed, path: PATH, numRuns: Math.ceil(RUNS / BATCH), endOnFailure: true });
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`${cause}\nreplay: FUZZ_SEED=${SEED} FUZZ_PATH=${details.counterexamplePath} npm test -- test/e2e/fuzz -t '<this test>' (run ${details.numRuns})`);
}

describe('fuzz: no generated request or socket frame stops the api', () => {
  jest.setTimeout(Math.max(180_000, RUNS * 40));
  let api: ApiProcess;
  let user: TestUser;
  let cookieUser: TestUser;
  let admin: TestUser;
  /** OWN's stand-ins -> the fuzz user's real rooms and ids. */
  const own = new Map<unknown, unknown>();

  beforeAll(async () => {
    api = await startApi({
      // Its own Redis keyspace: analyses, sessions and realtime events it makes stay out of every other suite's way.
      REDIS_PREFIX: `fuzz-${randomUUID().slice(0, 8)}:`,
      // The limits would answer 429 to most of the run before the input reached anything interesting.
      HTTP_RATE_LIMIT_POINTS: '100000000',
      WRITE_RATE_LIMIT_POINTS: '100000000',
      LOGIN_THROTTLE_ATTEMPTS: '100000000',
      RATE_LIMIT_POINTS: '100000000',
      AUTH_TIMEOUT_MS: '600000',
      LOG_LEVEL: 'error',
    });
    [user, cookieUser] = await Promise.all([registerTokenUser(api.url, 'fuzz'), registerUser(api.url, 'fuzz-cookie')]);
    admin = await createAdmin(api.url);
    const room = await user.client.post('/api/chat/rooms', { memberIds: [] });
    const project = await user.client.post('/api/projects', { name: 'fuzz' });
    own.set(OWN.userRoom, `user:${user.id}`).set(OWN.chatRoom, `chat:${room.body.id}`).set(OWN.projectRoom, `project:${project.body.id}`).set(OWN.roomId, room.body.id);
  });

  afterAll(async () => {
    await api?.stop();
    const sorted = (m: Map<string | number, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ');
    process.stdout.write(`fuzz (seed ${SEED}): HTTP statuses ${sorted(seen.http)}\nfuzz: socket acks ${sorted(seen.acks)}\n`);
  });

  const alive = async () => {
    if (!api.running) throw new Error(`the api exited:\n${api.logs().slice(-4000)}`);
    const r = await fetch(`${api.url}/livez`, { signal: AbortSignal.timeout(10_000) });
    if (r.status !== 200) throw new Error(`/livez answered ${r.status}`);
  };

  function credentials(c: HttpCase): Record<string, string> {
    const auth = c.route.endsSession && c.auth !== 'none' ? 'garbage' : c.auth;
    switch (auth) {
      case 'bearer':
        return { authorization: `Bearer ${user.client.token}` };
      case 'cookie':
        return { cookie: cookieUser.client.cookieHeader };
      case 'admin':
        return { cookie: admin.client.cookieHeader };
      case 'garbage':
        return { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.' };
      default:
        return {};
    }
  }

  async function send(c: HttpCase): Promise<string | null> {
    let i = 0;
    const path = c.route.path.replace(/:x/g, () => c.params[i++] ?? '1');
    const url = `${api.url}${path}${c.query ? `?${c.query}` : ''}`;
    const method = c.route.method === 'GET' && c.asPost && c.body !== undefined ? 'POST' : c.route.method;
    const headers: Record<string, string> = { ...c.headers, ...credentials(c) };
    if (c.contentType !== undefined && c.body !== undefined) headers['content-type'] = c.contentType;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 20_000);
    try {
      const res = await fetch(url, { method, headers, body: method === 'GET' ? undefined : c.body, signal: ctrl.signal });
      count(seen.http, res.status);
      const streaming = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
      const text = streaming ? '' : await res.text();
      if (!HTTP_STATUSES.has(res.status)) return `${method} ${path}?${c.query.slice(0, 200)} answered ${res.status}: ${text.slice(0, 300)}\napi log: ${api.logs().slice(-1500)}`;
      if (res.status >= 400 && LEAK.test(text)) return `${method} ${path} leaked internals: ${text.slice(0, 300)}`;
      return null;
    } catch (err) {
      // fetch refuses some generated requests itself (a header value it will not send): nothing reached the api.
      if (err instanceof TypeError && !(err as { cause?: unknown }).cause) return null;
      if (ctrl.signal.aborted) return `${method} ${path} got no answer within 20 s`;
      const cause = (err as { cause?: { message?: string } }).cause;
      return `${method} ${path}: ${(err as Error).message} ${cause?.message ?? ''}`;
    } finally {
      clearTimeout(timer);
      ctrl.abort();
    }
  }

  it(`answers ${RUNS} generated requests across every route with documented statuses (seed ${SEED})`, async () => {
    let runs = 0;
    await checkProperty(
      fc.asyncProperty(fc.array(httpCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
        const problems = (await Promise.all(cases.map(send))).filter(Boolean);
        if (++runs % 50 === 0 || problems.length) await alive();
        if (problems.length) throw new Error(problems.join('\n'));
      }),
      SEED,
    );
    await alive();
  });

  describe('socket frames', () => {
    /** One authenticated and one anonymous socket per namespace, reopened when a frame made the server close it. */
    const sockets = new Map<string, Socket>();

    const open = async (nsp: string, authed: boolean): Promise<Socket> => {
      const key = `${nsp}:${authed}`;
      const existing = sockets.get(key);
      if (existing?.connected) return existing;
      existing?.close();
      const s = io(api.url + nsp, { auth: authed ? { token: user.client.token } : {}, transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10_000 });
      sockets.set(key, s);
      await new Promise<void>((resolve, reject) => {
        s.once('connected', () => resolve());
        s.once('connect_error', (err) => reject(new Error(`${nsp}: ${err.message}`)));
      });
      return s;
    };

    afterAll(() => {
      for (const s of sockets.values()) s.close();
    });

    /** One level deep is where the stand-ins are generated. */
    const withOwnIds = (arg: unknown): unknown => {
      if (typeof arg === 'string') return own.get(arg) ?? arg;
      if (arg === null || typeof arg !== 'object' || Array.isArray(arg) || ArrayBuffer.isView(arg)) return arg;
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(arg)) Object.defineProperty(copy, k, { value: own.get(v) ?? v, enumerable: true, writable: true, configurable: true });
      return copy;
    };

    async function emit(c: SocketCase): Promise<string | null> {
      const nsp = NAMESPACES[c.nsp];
      const args = c.args.map(withOwnIds);
      const s = await open(nsp, c.authed);
      if (c.raw !== undefined) {
        // socket.io packets go as engine.io messages; the server closes the connection on a malformed one.
        (s.io.engine as unknown as { write(data: string): void }).write(c.raw);
        return null;
      }
      try {
        if (!c.withAck) {
          s.emit(c.event, ...args);
          return null;
        }
        const reply = (await s.timeout(10_000).emitWithAck(c.event, ...args)) as { ok?: unknown; error?: unknown };
        count(seen.acks, reply?.ok === true ? 'ok' : String(reply?.error));
        if (typeof reply !== 'object' || reply === null || typeof reply.ok !== 'boolean') return `${nsp} ${c.event}: ack ${JSON.stringify(reply)?.slice(0, 200)}`;
        if (!reply.ok && !ACK_CODES.has(reply.error as string)) return `${nsp} ${JSON.stringify(c.event)}: ack error ${JSON.stringify(reply).slice(0, 300)}`;
        return null;
      } catch (err) {
        // The client refuses reserved names itself; a frame over WS_MAX_BUFFER_BYTES closes the connection (SPEC §5).
        if (/reserved/i.test((err as Error).message)) return null;
        if (!s.connected) return null;
        return `${nsp} ${JSON.stringify(c.event)}: ${(err as Error).message}`;
      }
    }

    it(`acknowledges ${RUNS} generated events on every namespace with documented codes (seed ${SEED})`, async () => {
      let runs = 0;
      await checkProperty(
        fc.asyncProperty(fc.array(socketCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
          // Frames on one socket go in order; different sockets at once.
          const bySocket = new Map<string, SocketCase[]>();
          for (const c of cases) bySocket.set(`${c.nsp}:${c.authed}`, [...(bySocket.get(`${c.nsp}:${c.authed}`) ?? []), c]);
          const problems: string[] = [];
          await Promise.all(
            [...bySocket.values()].map(async (list) => {
              for (const c of list) {
                const p = await emit(c);
                if (p) problems.push(p);
              }
            }),
          );
          if (++runs % 50 === 0 || problems.length) await alive();
          if (problems.length) throw new Error(problems.join('\n'));
        }),
        SEED + 1,
      );
      await alive();
      expect(api.logs()).not.toMatch(/socket event failed|socket handler failed|uncaught/i);
    });
  });
});
