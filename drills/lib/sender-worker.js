// @ts-check
'use strict';
/**
 * The drill's writers and readers, in their own process: a chat message stream (over HTTP through
 * nginx and over sockets with `message:send`), HTTP users reading and writing, and analyses going
 * onto both queues. Every acknowledged publish is logged [seq, roomId, sentAt, ackedAt] for the
 * receivers' accounting; every HTTP answer is counted by status, so one 5xx seen through nginx shows.
 *
 * Messages from the parent: {type:'start', url, fixtures, rate}, {type:'finish'}.
 */
const http = require('node:http');
const path = require('node:path');
const { io } = require(path.join(__dirname, '..', '..', 'node_modules', 'socket.io-client'));
const { request, clientAddress } = require('./http');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const published = [];
const statuses = {};
const failures = [];
/** Every failed answer by kind, status and message: how many, first and last (a fault's window per kind of failure). */
const failureKinds = {};
const analyses = [];
/** When the first and the last failed answer (5xx, network) came: a fault's window as clients saw it. */
let failureSpan = null;
const timers = [];
let inFlight = 0;
let seq = 0;
let stopped = false;
/** Socket sends resent after a lost ack, and resends the server answered with the message it already had. */
const resends = { resent: 0, replayed: 0 };
/** How long a socket send is retried before it counts as lost (the drill's finish waits 30 s for sends in flight). */
const SEND_GIVE_UP_MS = 45000;
const ACK_TIMEOUT_MS = 10000;

function noteFailure(kind, status, message) {
  const k = `${kind} ${status} ${String(message ?? '').slice(0, 120)}`;
  const now = Date.now();
  const f = (failureKinds[k] ??= { n: 0, first: now, last: now });
  f.n++;
  f.last = now;
}

function count(kind, status) {
  const k = `${kind} ${status}`;
  statuses[k] = (statuses[k] ?? 0) + 1;
  if (status === 'network' || status === 'timeout' || (typeof status === 'number' && status >= 500)) {
    const now = Date.now();
    failureSpan = failureSpan ? { first: failureSpan.first, last: now } : { first: now, last: now };
  }
}

async function call(kind, opts, userIdx, url) {
  inFlight++;
  try {
    const r = await request(url, { ...opts, agent, localAddress: clientAddress(6000 + userIdx), timeoutMs: 30000 });
    count(kind, r.status);
    if (r.status >= 500) noteFailure(kind, r.status, r.body?.message ?? JSON.stringify(r.body));
    if (r.status >= 500 && failures.length < 20) failures.push({ kind, status: r.status, at: Date.now(), body: JSON.stringify(r.body).slice(0, 200) });
    return r;
  } catch (err) {
    count(kind, 'network');
    noteFailure(kind, 'network', err.message);
    if (failures.length < 20) failures.push({ kind, status: 'network', at: Date.now(), body: err.message });
    return null;
  } finally {
    inFlight--;
  }
}

/**
 * message:send as docs/clients.md tells a client to: with a clientMessageId, and when the ack does
 * not come (the socket dropped with the message in flight: socket.io-client rejects at once; or
 * the ack timed out) the same payload again once the socket is back (socket.io-client buffers an
 * emit while disconnected). The server answers a resend with the message it stored the first time.
 */
async function sendUntilAcked(socket, payload, giveUpAt) {
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0) resends.resent++;
    try {
      const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', payload);
      if (ack?.replayed) resends.replayed++;
      return ack;
    } catch (err) {
      if (Date.now() >= giveUpAt || !socket.active) throw err;
      // Rejected at the disconnect: wait for the reconnect rather than spin on a closed socket.
      if (!socket.connected) await new Promise((r) => { const t = setTimeout(r, 5000); socket.once('connect', () => (clearTimeout(t), r())); });
    }
  }
}

function pickRoom(rooms) {
  const x = Math.random();
  const size = x < 0.1 ? 'large' : x < 0.5 ? 'medium' : 'small';
  const of = rooms.filter((r) => r.size === size);
  const list = of.length ? of : rooms;
  return list[Math.floor(Math.random() * list.length)];
}

/** Runs fn `perSecond` times a second, spread evenly (ticks of 10 ms). */
function every(perSecond, fn) {
  if (perSecond <= 0) return;
  let owed = 0;
  let last = Date.now();
  const t = setInterval(() => {
    const now = Date.now();
    owed += ((now - last) / 1000) * perSecond;
    last = now;
    while (owed >= 1) {
      owed--;
      fn();
    }
  }, 10);
  timers.push(t);
}

function start({ url, fixtures, rate, analysesPerSecond = 1 }) {
  const { users, rooms, projects } = fixtures;
  // Socket senders: the first members of each medium/large room, one /chat socket each.
  const senders = users.slice(0, Math.min(10, users.length)).map((u, i) =>
    io(url + '/chat', { auth: { token: u.token }, transports: ['websocket'], forceNew: true, localAddress: clientAddress(7000 + i) }),
  );
  every(rate * 0.8, () => {
    const room = pickRoom(rooms);
    const poster = room.memberIdx[Math.floor(Math.random() * room.memberIdx.length)];
    const n = ++seq;
    const sentAt = Date.now();
    void call('POST message', { method: 'POST', path: `/api/chat/rooms/${room.id}/messages`, token: users[poster].token, body: { body: `drill:${n}:${sentAt}` } }, poster, url).then((r) => {
      if (r && r.status === 201) published.push([n, room.id, sentAt, Date.now()]);
    });
  });
  every(rate * 0.2, () => {
    const i = Math.floor(Math.random() * senders.length);
    const candidates = rooms.filter((r) => r.memberIdx.includes(i));
    const room = candidates[Math.floor(Math.random() * candidates.length)];
    if (!room) return;
    const n = ++seq;
    const sentAt = Date.now();
    inFlight++;
    sendUntilAcked(senders[i], { roomId: room.id, body: `drill:${n}:${sentAt}`, clientMessageId: `drill-${process.pid}-${n}` }, sentAt + SEND_GIVE_UP_MS)
      .then((ack) => {
        count('socket message:send', ack?.ok ? 'ok' : ack?.error);
        if (ack?.ok) published.push([n, room.id, sentAt, Date.now()]);
      })
      .catch(() => count('socket message:send', 'timeout'))
      .finally(() => inFlight--);
  });
  // HTTP users reading (replica) and writing (primary, notifications to the other member).
  every(Math.max(5, rate / 5), () => {
    const u = Math.floor(Math.random() * users.length);
    const mine = rooms.filter((r) => r.memberIdx.includes(u));
    const room = mine[Math.floor(Math.random() * mine.length)];
    const pick = Math.random();
    if (pick < 0.5 && room) void call('GET messages', { path: `/api/chat/rooms/${room.id}/messages?limit=20`, token: users[u].token }, u, url);
    else if (pick < 0.8) void call('GET unread-count', { path: '/api/notifications/unread-count', token: users[u].token }, u, url);
    else void call('GET rooms', { path: '/api/chat/rooms', token: users[u].token }, u, url);
  });
  every(0.5, () => {
    const u = Math.floor(Math.random() * (users.length - 1));
    void call('POST room', { method: 'POST', path: '/api/chat/rooms', token: users[u].token, body: { name: 'drill side room', memberIds: [users[u + 1].id] } }, u, url);
  });
  let high = false;
  every(analysesPerSecond, () => {
    const p = projects[Math.floor(Math.random() * projects.length)];
    const owner = p.memberIdx[0];
    high = !high;
    void call('POST analysis', { method: 'POST', path: `/api/projects/${p.id}/analyses`, token: users[owner].token, body: { priority: high ? 'high' : 'default', stations: 3 } }, owner, url).then((r) => {
      if (r && r.status === 202) analyses.push(r.body);
    });
  });
  timers.push({ senders });
}

async function finish() {
  stopped = true;
  for (const t of timers) if (!('senders' in t)) clearInterval(t);
  const deadline = Date.now() + 30000;
  while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const t of timers) if ('senders' in t) for (const s of t.senders) s.close();
  agent.destroy();
  process.send?.({ type: 'result', published, statuses, failures, failureKinds, failureSpan, analyses, resends, stillInFlight: inFlight }, () => process.exit(0));
}

process.on('message', (msg) => {
  if (msg.type === 'start') start(msg);
  else if (msg.type === 'finish' && !stopped) void finish();
});
process.on('disconnect', () => process.exit(0));
