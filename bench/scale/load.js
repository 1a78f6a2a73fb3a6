// @ts-check
'use strict';
// One load process of bench:scale (forked by run.js with IPC; several run side by side so that the
// clients are spread over cores and none holds more sockets than its open-file limit allows).
// Each socket is a real socket.io-client 4.8 client (websocket transport, default reconnection:
// 1 s doubling to 5 s, jittered), from its own loopback source address 127.0.<1..250>.<2+process>
// (one source/destination pair has only ~28,000 ephemeral ports; nginx hashes the whole address).
//
//   ours:  auth {token} (a token as POST /api/auth/token issues it), then `subscribe {room: project:<id>}`
//          after every `connected` with recovered:false; recovered:true keeps its rooms (SPEC §5)
//   stock: auth {user, room}; the server joins both rooms
//
// Commands (IPC, one reply each): users, connect, status, mark, traffic, report, close.
const { io } = require('socket.io-client');
const jwt = require('jsonwebtoken');
const { randomUUID } = require('node:crypto');
const { performance, monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();

/** Latency histogram in 0.1 ms steps up to 120 s. */
const STEP = 0.1;
const MAX_MS = 120000;
let hist = new Uint32Array(MAX_MS / STEP + 1);

/** @type {{ index: number, kind: 'ours' | 'stock', urls: string[], secret: string, concurrency: number, firstGlobal: number }} */
let cfg;
/** @type {[number, number, number][]} user id, project id, project index */
let users = [];
/** @type {import('socket.io-client').Socket[]} */
const sockets = [];
let ready = new Uint8Array(0);
let downAt = new Float64Array(0);
/** @type {(Set<number> | null)[]} seqs of `bench` events each socket received during the traffic part */
let got = [];
let toldDuringTraffic = new Uint8Array(0);
/** recovered:true connects per socket (to tell a loss after a recovery from one without any) */
let recoveredOf = new Uint16Array(0);
/** disconnects per socket since the traffic began (a socket missing events without ever dropping points at the server or this process) */
let disconnectsOf = new Uint16Array(0);
/** Per socket, its last `subscribe`: 0 none sent, 1 sent and not answered (yet), 2 acknowledged, 3 refused. */
let subscribed = new Uint8Array(0);
const SUBSCRIBE_STATE = ['never sent', 'no ack', 'ok', 'refused'];
let duplicates = 0;
let wrongRoom = 0;
let closing = false;
let cpuAtMark = process.cpuUsage();
/**
 * This process's own event-loop delay and GC pauses since the part's mark: a delivery is timed when this
 * process gets to it, so a stall here (a major GC of 12,500 clients' heap, a starved core) is counted in the
 * latency as if the server had been late. Reported beside the latency to tell the two apart.
 */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let gc = { ms: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.ms += e.duration;
    if (e.duration > gc.maxMs) gc.maxMs = e.duration;
  }
}).observe({ entryTypes: ['gc'] });

/** Counters of the current part (reset by `mark`). */
let part = freshPart();
function freshPart() {
  return {
    since: now(),
    disconnects: 0,
    /** @type {Record<string, number>} */
    disconnectReasons: {},
    /** @type {Record<string, number>} */
    connectErrors: {},
    recoveredTrue: 0,
    recoveredFalse: 0,
    subscribeFailures: 0,
    /** @type {Record<string, number>} */
    subscribeErrors: {},
    /** sockets back (connected and in their rooms) per wall-clock second */
    /** @type {Record<number, number>} */
    backPerSecond: {},
    /** connect errors (refusals, timeouts) per wall-clock second */
    /** @type {Record<number, number>} */
    refusedPerSecond: {},
    /** @type {number[]} ms from a socket's disconnect to being back */
    backMs: [],
    lastBackAt: 0,
  };
}

/**
 * Per WINDOW_MS of send time since the part's mark: [deliveries, sum of ms, max ms, deliveries within 20 ms].
 * Tells a backlog that grows through the part from a stall that passes (the histogram alone cannot).
 */
const WINDOW_MS = 5000;
/** @type {[number, number, number, number][]} */
let windows = [];

function record(ms, sentAt) {
  let b = Math.round(ms / STEP);
  if (b < 0) b = 0;
  if (b >= hist.length) b = hist.length - 1;
  hist[b]++;
  const w = Math.floor((sentAt - part.since) / WINDOW_MS);
  if (w < 0 || w > 10000) return;
  const x = windows[w] ?? (windows[w] = [0, 0, 0, 0]);
  x[0]++;
  x[1] += ms;
  if (ms > x[2]) x[2] = ms;
  if (ms <= 20) x[3]++;
}

function tokenFor(userId) {
  return jwt.sign({ sub: String(userId), role: 'user', jti: randomUUID() }, cfg.secret, { algorithm: 'HS256', expiresIn: 6 * 3600 });
}

/** @type {{ total: number, rooms: number } | null} */
let traffic = null;
/** @type {((i: number) => void) | null} */
let onReady = null;

function markReady(i) {
  if (ready[i]) return;
  ready[i] = 1;
  const t = now();
  if (downAt[i]) {
    part.backMs.push(t - downAt[i]);
    downAt[i] = 0;
  }
  const sec = Math.floor(t / 1000);
  part.backPerSecond[sec] = (part.backPerSecond[sec] ?? 0) + 1;
  part.lastBackAt = t;
  onReady?.(i);
}

function open(i) {
  const [userId, projectId, projectIndex] = users[i];
  const global = cfg.firstGlobal + i;
  const url = cfg.urls[global % cfg.urls.length];
  const localAddress = `127.0.${1 + (global % 250)}.${2 + cfg.index}`;
  const auth = cfg.kind === 'ours' ? { token: tokenFor(userId) } : { user: userId, room: `project:${projectId}` };
  const socket = io(`${url}/realtime`, { transports: ['websocket'], forceNew: true, auth, localAddress });
  sockets[i] = socket;
  const room = `project:${projectId}`;
  socket.on('connected', (/** @type {{ recovered?: boolean }} */ c) => {
    // A recovery restores the subscriptions the server acknowledged (and, on the same process, one still being
    // checked): a client trusts it, except for a subscription it was told was refused, which it sends again.
    if (c?.recovered && subscribed[i] !== 3) {
      part.recoveredTrue++;
      recoveredOf[i]++;
      markReady(i);
      return;
    }
    if (c?.recovered) {
      part.recoveredTrue++;
      recoveredOf[i]++;
    } else if (sockets[i] && downAt[i]) part.recoveredFalse++;
    if (!c?.recovered && traffic && got[i]) toldDuringTraffic[i] = 1;
    if (cfg.kind === 'stock') return markReady(i);
    subscribed[i] = 1;
    socket.emit('subscribe', { room }, (/** @type {{ ok: boolean, error?: string }} */ ack) => {
      if (ack?.ok) {
        subscribed[i] = 2;
        return markReady(i);
      }
      subscribed[i] = 3;
      part.subscribeFailures++;
      const code = ack?.error ?? 'no ack';
      part.subscribeErrors[code] = (part.subscribeErrors[code] ?? 0) + 1;
      // A refused subscription (rate limit while the server is busy): the client tries again.
      setTimeout(() => socket.connected && socket.disconnect().connect(), 2000);
    });
  });
  socket.on('disconnect', (reason) => {
    if (closing) return;
    if (ready[i]) {
      ready[i] = 0;
      downAt[i] = now();
    }
    part.disconnects++;
    if (disconnectsOf.length > i) disconnectsOf[i]++;
    part.disconnectReasons[reason] = (part.disconnectReasons[reason] ?? 0) + 1;
    // The server ended the socket: socket.io-client does not reconnect by itself then; a real client would.
    if (reason === 'io server disconnect') setTimeout(() => !closing && socket.connect(), 1000 * (0.5 + Math.random()));
  });
  socket.on('connect_error', (err) => {
    const e = /** @type {Error & { data?: { code?: string, retryAfterMs?: number }, description?: unknown }} */ (err);
    const key = e.data?.code ?? e.message;
    part.connectErrors[key] = (part.connectErrors[key] ?? 0) + 1;
    const sec = Math.floor(now() / 1000);
    part.refusedPerSecond[sec] = (part.refusedPerSecond[sec] ?? 0) + 1;
    // A refusal with a retry hint (a limit: a crashed process's slots still counted): socket.io-client does
    // not retry a refused namespace by itself; a real client tries again after the hint, with jitter.
    const after = e.data?.retryAfterMs;
    if (typeof after === 'number') setTimeout(() => !closing && !socket.connected && socket.connect(), after * (0.5 + Math.random()));
  });
  socket.on('bench', (/** @type {{ seq: number, t: number }} */ p) => {
    record(now() - p.t, p.t);
    const set = got[i];
    if (!traffic || !set) return;
    if ((p.seq - 1) % traffic.rooms !== projectIndex) wrongRoom++;
    else if (set.has(p.seq)) duplicates++;
    else set.add(p.seq);
  });
}

/** Opens every socket, `concurrency` at a time; each is done once it is in its room. */
async function connectAll() {
  const started = now();
  const pending = new Map();
  onReady = (i) => {
    const r = pending.get(i);
    if (r) {
      pending.delete(i);
      r();
    }
  };
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < users.length) {
      const i = next++;
      const done = new Promise((resolve) => pending.set(i, resolve));
      open(i);
      // socket.io-client keeps retrying by itself; past 90 s the socket is counted as failed (it may still come).
      let timer;
      const ok = await Promise.race([done.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), 90000)))]);
      clearTimeout(timer);
      if (!ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  onReady = null;
  return { connected: readyCount(), failed, seconds: +((now() - started) / 1000).toFixed(1) };
}

function readyCount() {
  let n = 0;
  for (let i = 0; i < ready.length; i++) n += ready[i];
  return n;
}

/**
 * `sent`: how many were published (the storm's publisher runs until stopped); `failedSeqs`: those whose
 * publish failed (the publisher was told: no socket is owed them).
 */
function trafficAccounting(sent, failedSeqs = []) {
  if (!traffic) return null;
  const { rooms } = traffic;
  const total = sent ?? traffic.total;
  /** Room index -> how many of its seqs failed to publish. */
  const failedIn = new Map();
  for (const seq of failedSeqs) if (seq <= total) failedIn.set((seq - 1) % rooms, (failedIn.get((seq - 1) % rooms) ?? 0) + 1);
  let expected = 0;
  let delivered = 0;
  let missing = 0;
  let missingTold = 0;
  let socketsMissing = 0;
  // Missing on a socket that is disconnected now (a client still in its reconnection back-off): owed, not lost;
  // its next connection replays it or says recovered:false. Apart from `missing`, which counts connected sockets only.
  let owedToDisconnected = 0;
  let socketsDisconnectedOwed = 0;
  const examples = [];
  for (let i = 0; i < users.length; i++) {
    const set = got[i];
    if (!set) continue;
    const k = users[i][2];
    const exp = (k < total ? Math.floor((total - 1 - k) / rooms) + 1 : 0) - (failedIn.get(k) ?? 0);
    expected += exp;
    delivered += set.size;
    const miss = exp - set.size;
    if (miss > 0) {
      if (toldDuringTraffic[i]) missingTold += miss;
      else if (!sockets[i]?.connected) {
        owedToDisconnected += miss;
        socketsDisconnectedOwed++;
      } else {
        missing += miss;
        socketsMissing++;
        // A few examples for whoever looks into it: the user and the seqs its room had and it did not get.
        if (examples.length < 5) {
          const lost = [];
          for (let seq = k + 1; seq <= total && lost.length < 5; seq += rooms) if (!set.has(seq)) lost.push(seq);
          examples.push({ user: users[i][0], room: users[i][1], lost, recoveredTrue: recoveredOf[i], disconnects: disconnectsOf[i], connected: Boolean(sockets[i]?.connected), got: set.size, subscribe: SUBSCRIBE_STATE[subscribed[i]] });
        }
      }
    }
  }
  return { expected, delivered, missing, missingTold, socketsMissing, owedToDisconnected, socketsDisconnectedOwed, duplicates, wrongRoom, examples };
}

function sparseHist() {
  const out = [];
  for (let b = 0; b < hist.length; b++) if (hist[b]) out.push([b, hist[b]]);
  return out;
}

process.on('disconnect', () => process.exit(0)); // the benchmark went away: so do we
process.on('message', (/** @type {any} */ m) => {
  const send = (/** @type {object} */ r) => process.send?.(r);
  switch (m.cmd) {
    case 'users':
      cfg = m.cfg;
      users = m.users;
      ready = new Uint8Array(users.length);
      downAt = new Float64Array(users.length);
      got = new Array(users.length).fill(null);
      toldDuringTraffic = new Uint8Array(users.length);
      recoveredOf = new Uint16Array(users.length);
      disconnectsOf = new Uint16Array(users.length);
      subscribed = new Uint8Array(users.length);
      send({ ok: true });
      break;
    case 'connect':
      connectAll().then((r) => send({ connectDone: r }));
      break;
    case 'status': {
      let delivered = 0;
      for (const set of got) if (set) delivered += set.size;
      send({ status: { ready: readyCount(), total: users.length, disconnects: part.disconnects, lastBackAt: part.lastBackAt, delivered } });
      break;
    }
    case 'mark':
      part = freshPart();
      cpuAtMark = process.cpuUsage();
      loopDelay.reset();
      gc = { ms: 0, maxMs: 0 };
      hist = new Uint32Array(MAX_MS / STEP + 1);
      windows = [];
      send({ marked: true });
      break;
    case 'traffic':
      // From now on every socket that is in its room counts what it receives of `bench`.
      traffic = { total: m.total, rooms: m.rooms };
      duplicates = 0;
      wrongRoom = 0;
      toldDuringTraffic.fill(0);
      disconnectsOf.fill(0);
      for (let i = 0; i < users.length; i++) got[i] = ready[i] ? new Set() : null;
      send({ trafficOn: true });
      break;
    case 'report': {
      const cpu = process.cpuUsage(cpuAtMark);
      const r = { ...part, backMs: undefined, backPerSecond: part.backPerSecond, ready: readyCount(), hist: sparseHist(), windows: Array.from(windows, (x) => x ?? [0, 0, 0, 0]), traffic: trafficAccounting(m.sent, m.failedSeqs), cpuS: (cpu.user + cpu.system) / 1e6, rssMb: Math.round(process.memoryUsage().rss / 1048576), lagP99Ms: loopDelay.percentile(99) / 1e6, lagMaxMs: loopDelay.max / 1e6, gcMs: gc.ms, gcMaxMs: gc.maxMs };
      // back times as a compact summary: sorted sample is enough for p50/p99/max across processes
      const back = part.backMs.slice().sort((a, b) => a - b);
      send({ report: { ...r, back } });
      if (m.endTraffic) {
        traffic = null;
        got.fill(null);
      }
      break;
    }
    case 'close': {
      // spreadMs: the disconnects spread evenly over that time (a few per event-loop turn of the server,
      // as a deploy that spreads its closes), instead of all at once.
      closing = true;
      const open = sockets.filter(Boolean);
      const finish = () =>
        setTimeout(() => {
          send({ closed: true });
          setTimeout(() => process.exit(0), 200);
        }, 500);
      const spreadMs = Number(m.spreadMs ?? 0);
      const start = now();
      let next = 0;
      const step = () => {
        const due = spreadMs > 0 ? Math.min(open.length, Math.ceil((open.length * (now() - start)) / spreadMs)) : open.length;
        while (next < due) open[next++].disconnect();
        if (next < open.length) setTimeout(step, 1);
        else finish();
      };
      step();
      break;
    }
    default:
      send({ error: `unknown command ${m.cmd}` });
  }
});
