#!/usr/bin/env node
'use strict';
/**
 * Socket.IO load generator that runs here (k6 is not packaged for Debian; the k6 scenario is in
 * scenarios/k6-websocket-test.js). Bounded in connections and time, meant for 127.0.0.1.
 *
 *   node load-testing/run.js [--url http://127.0.0.1:3000] [--connections 200] [--duration 30]
 *                            [--users 20] [--rooms 4] [--rate 0.5] [--namespace /chat] [--json]
 *
 * 1. registers --users users (HTTP, session cookie) and gets a bearer token for each
 *    (POST /api/auth/token); the first user creates --rooms chat rooms with everyone as a member;
 * 2. opens --connections sockets to <url><namespace> over WebSocket, authenticated in the
 *    handshake (auth: {token}), each joining one room (room:join, acknowledged);
 * 3. for --duration seconds one sender socket per user emits message:send at --rate messages/s;
 *    every socket in the room records the delay until message:new arrives (same clock: the sender
 *    and the receivers are in this process), and each sender the acknowledgement time;
 * 4. closes everything and prints connections held, latency percentiles and errors by code.
 *
 * MAX_CONNECTIONS_PER_IP applies cluster-wide: on a loopback URL the sockets are spread over
 * source addresses 127.0.<k>.1 (Linux routes all of 127/8 to lo), --per-address at a time, which
 * also spreads them over nginx's ip_hash (it hashes the first three octets).
 */
const { io } = require('socket.io-client');

const LIMITS = { connections: 5000, duration: 600, users: 500, rooms: 500 };

function parseArgs(argv) {
  const opts = { url: 'http://127.0.0.1:3000', connections: 200, duration: 30, users: 20, rooms: 4, rate: 0.5, namespace: '/chat', perAddress: 40, connectTimeout: 20000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (key === 'json') {
      opts.json = true;
      continue;
    }
    if (!(key in opts)) throw new Error(`unknown option --${m[1]}`);
    const value = m[2] ?? argv[++i];
    opts[key] = typeof opts[key] === 'number' ? Number(value) : value;
    if (typeof opts[key] === 'number' && !(opts[key] >= 0)) throw new Error(`--${m[1]} takes a number`);
  }
  for (const [k, max] of Object.entries(LIMITS)) {
    if (opts[k] > max) throw new Error(`--${k} is at most ${max} (bounded load)`);
  }
  if (opts.connections < 1 || opts.users < 1 || opts.rooms < 1) throw new Error('--connections, --users and --rooms must be at least 1');
  opts.users = Math.min(opts.users, opts.connections);
  opts.rooms = Math.min(opts.rooms, opts.connections);
  opts.url = opts.url.replace(/\/$/, '');
  return opts;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarise(samples) {
  const s = Float64Array.from(samples).sort();
  const round = (v) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    count: s.length,
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    max: round(s.length ? s[s.length - 1] : null),
  };
}

/** At most `max` samples, uniformly chosen (reservoir), so memory stays bounded. */
class Reservoir {
  constructor(max = 200000) {
    this.max = max;
    this.seen = 0;
    this.values = [];
  }
  add(v) {
    this.seen++;
    if (this.values.length < this.max) this.values.push(v);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.max) this.values[j] = v;
    }
  }
}

async function http(url, method, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, cookie: res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
}

async function setUp(opts, log) {
  const run = Date.now().toString(36);
  const users = [];
  for (let i = 0; i < opts.users; i++) {
    const email = `load-${run}-${i}@example.test`;
    const reg = await http(opts.url, 'POST', '/api/auth/register', { email, password: 'load-test-password', name: `load ${i}` });
    if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
    const tok = await http(opts.url, 'POST', '/api/auth/token', undefined, { cookie: reg.cookie });
    if (tok.status !== 200 || !tok.body?.token) throw new Error(`token failed: ${tok.status} ${JSON.stringify(tok.body)}`);
    users.push({ id: reg.body.id, token: tok.body.token, cookie: reg.cookie });
  }
  const rooms = [];
  for (let r = 0; r < opts.rooms; r++) {
    const res = await http(opts.url, 'POST', '/api/chat/rooms', { name: `load ${run} ${r}`, memberIds: users.slice(1).map((u) => u.id) }, { cookie: users[0].cookie });
    if (res.status !== 201) throw new Error(`room creation failed: ${res.status} ${JSON.stringify(res.body)}`);
    rooms.push(res.body.id);
  }
  log(`set up ${users.length} users and ${rooms.length} rooms`);
  return { users, rooms };
}

function loopbackUrl(url) {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost';
}

function emitWithAck(socket, event, payload, timeoutMs) {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => resolve(err ? { ok: false, error: 'ack_timeout' } : ack));
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (m) => process.stderr.write(`[load] ${m}\n`);
  const started = Date.now();
  const { users, rooms } = await setUp(opts, log);
  const errors = {};
  const error = (code) => (errors[code] = (errors[code] ?? 0) + 1);
  const connectMs = new Reservoir();
  const ackMs = new Reservoir();
  const deliveryMs = new Reservoir();
  const sockets = [];
  let delivered = 0;
  let expected = 0;
  let sent = 0;
  const roomSize = new Map();
  const spread = loopbackUrl(opts.url);

  // Connect in waves so the server's auth and join work is not one burst.
  const connectOne = (i) =>
    new Promise((resolve) => {
      const user = users[i % users.length];
      const roomId = rooms[i % rooms.length];
      const t0 = performance.now();
      const socket = io(opts.url + opts.namespace, {
        transports: ['websocket'],
        auth: { token: user.token },
        reconnection: false,
        forceNew: true,
        timeout: opts.connectTimeout,
        ...(spread ? { localAddress: `127.0.${1 + Math.floor(i / opts.perAddress)}.1` } : {}),
      });
      const entry = { socket, user, roomId, ready: false, sender: false };
      const fail = (code) => {
        error(code);
        socket.close();
        resolve(entry);
      };
      const timer = setTimeout(() => fail('connect_timeout'), opts.connectTimeout);
      socket.on('connect_error', (err) => {
        clearTimeout(timer);
        fail(`connect_error:${err.data?.code ?? err.message}`);
      });
      socket.on('error', (e) => error(`socket_error:${e?.code ?? 'unknown'}`));
      socket.once('authenticated', async () => {
        const ack = await emitWithAck(socket, 'room:join', { roomId }, opts.connectTimeout);
        clearTimeout(timer);
        if (!ack?.ok) return fail(`room:join:${ack?.error ?? 'no_ack'}`);
        connectMs.add(performance.now() - t0);
        entry.ready = true;
        roomSize.set(roomId, (roomSize.get(roomId) ?? 0) + 1);
        resolve(entry);
      });
      socket.on('message:new', (payload) => {
        const m = /lt:(\d+):(\d+(?:\.\d+)?)/.exec(JSON.stringify(payload));
        if (!m) return;
        delivered++;
        deliveryMs.add(performance.now() - Number(m[2]));
      });
      socket.on('disconnect', (reason) => {
        if (!stopping) error(`disconnect:${reason}`);
      });
      sockets.push(entry);
    });

  let stopping = false;
  const wave = 50;
  for (let i = 0; i < opts.connections; i += wave) {
    await Promise.all(Array.from({ length: Math.min(wave, opts.connections - i) }, (_, k) => connectOne(i + k)));
  }
  const ready = sockets.filter((s) => s.ready);
  log(`${ready.length}/${opts.connections} sockets connected, authenticated and in their rooms`);

  // One sender socket per user.
  const senders = new Map();
  for (const s of ready) if (!senders.has(s.user.id)) senders.set(s.user.id, s);
  const deadline = Date.now() + opts.duration * 1000;
  const intervalMs = opts.rate > 0 ? 1000 / opts.rate : Infinity;
  let seq = 0;
  await Promise.all(
    [...senders.values()].map(async (s, k) => {
      if (!Number.isFinite(intervalMs)) return;
      await new Promise((r) => setTimeout(r, (k * intervalMs) / senders.size));
      while (Date.now() < deadline && s.socket.connected) {
        const t = performance.now();
        sent++;
        expected += roomSize.get(s.roomId) ?? 0;
        const ack = await emitWithAck(s.socket, 'message:send', { roomId: s.roomId, body: `lt:${++seq}:${t}` }, 10000);
        if (ack?.ok) ackMs.add(performance.now() - t);
        else error(`message:send:${ack?.error ?? 'no_ack'}`);
        const wait = intervalMs - (performance.now() - t);
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
      }
    }),
  );
  // Late deliveries.
  await new Promise((r) => setTimeout(r, 2000));
  const heldAtEnd = sockets.filter((s) => s.socket.connected).length;
  stopping = true;
  for (const s of sockets) s.socket.close();

  const summary = {
    url: opts.url + opts.namespace,
    durationS: opts.duration,
    connections: { attempted: opts.connections, established: ready.length, heldAtEnd: heldAtEnd, connectMs: summarise(connectMs.values) },
    messages: { sent, acked: ackMs.seen, deliveriesExpected: expected, delivered, ackMs: summarise(ackMs.values), deliveryMs: summarise(deliveryMs.values) },
    errors,
    wallS: Math.round((Date.now() - started) / 1000),
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const c = summary.connections;
    const m = summary.messages;
    const fmt = (x) => `p50 ${x.p50} ms, p95 ${x.p95} ms, p99 ${x.p99} ms, max ${x.max} ms (n=${x.count})`;
    process.stdout.write(
      [
        `target            ${summary.url}`,
        `connections       ${c.established}/${c.attempted} established, ${c.heldAtEnd} held at the end`,
        `connect+auth+join ${fmt(c.connectMs)}`,
        `messages          ${m.sent} sent, ${m.acked} acknowledged, ${m.delivered}/${m.deliveriesExpected} deliveries`,
        `ack latency       ${fmt(m.ackMs)}`,
        `delivery latency  ${fmt(m.deliveryMs)}`,
        `errors            ${Object.keys(errors).length ? JSON.stringify(errors) : 'none'}`,
        '',
      ].join('\n'),
    );
  }
  const failed = ready.length < opts.connections || Object.keys(errors).length > 0;
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`[load] ${err.message}\n`);
  process.exit(2);
});
