// @ts-check
'use strict';
/**
 * A child process holding a share of the drill's clients (so the servers, not one client event
 * loop, are the bottleneck). Every client records every event id it receives, its connects
 * (recovered or not) and disconnects. At the end the parent sends the publish log and each
 * client's figures are counted here (accounting.js) and sent back.
 *
 * Messages from the parent: {type:'start', url, sockets, sse}, {type:'finish', published, until}.
 */
const http = require('node:http');
const path = require('node:path');
const { io } = require(path.join(__dirname, '..', '..', 'node_modules', 'socket.io-client'));
const { countClient } = require('./accounting');

/** @type {Map<string, any>} */
const clients = new Map();
const reconnectTimes = [];
const connectErrors = new Map();
let stopped = false;

function record(key, kind, nsp, room) {
  const c = { key, kind, nsp, room, joinedAt: 0, connects: [], disconnects: [], seqs: new Map(), ids: new Set(), dupIds: 0, latencies: [], lastConnectAt: 0, connected: false, transportConnected: false, lastEventId: null, trace: [] };
  clients.set(key, c);
  return c;
}

/** A chat message body is `drill:<seq>:<sentAtMs>`: the receiver knows which publish it is and when it left. */
function onEvent(c, payload) {
  const now = Date.now();
  const id = payload && payload.eventId !== undefined ? String(payload.eventId) : null;
  if (id !== null) {
    if (c.ids.has(id)) c.dupIds++;
    else c.ids.add(id);
    c.lastEventId = id;
  }
  const body = payload && typeof payload.body === 'string' ? payload.body : '';
  if (body.startsWith('drill:')) {
    const [, seq, sentAt] = body.split(':');
    const n = Number(seq);
    c.seqs.set(n, (c.seqs.get(n) ?? 0) + 1);
    c.latencies.push([now - Number(sentAt), now]);
  }
}

function openSocket(url, spec) {
  const c = record(spec.key, 'socket', spec.nsp, spec.room);
  const socket = io(url + spec.nsp, {
    auth: { token: spec.token },
    transports: ['websocket'],
    forceNew: true,
    localAddress: spec.addr,
    // socket.io-client's defaults: 1 s doubling to 5 s, +-50 % jitter (the advice in docs/realtime.md).
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
    timeout: 20000,
  });
  c.socket = socket;
  // The last steps of the Manager (engine connection) and the Socket (namespace), for a client not back at the end.
  const step = (what) => {
    c.trace.push(`${Date.now()} ${what}`);
    if (c.trace.length > 16) c.trace.shift();
  };
  const manager = socket.io;
  manager.on('open', () => step('manager open'));
  manager.on('close', (reason) => step(`manager close: ${reason}`));
  manager.on('error', (err) => step(`manager error: ${err && err.message}`));
  manager.on('reconnect_attempt', (n) => step(`reconnect attempt ${n}`));
  manager.on('reconnect_failed', () => step('reconnect failed'));
  socket.on('connect', () => step('socket connect'));
  socket.on('connect_error', (err) => step(`socket connect_error: ${err && err.message}`));
  socket.on('disconnect', (reason) => step(`socket disconnect: ${reason}`));
  socket.on('error', (e) => step(`server error event: ${JSON.stringify(e)}`));
  socket.on('connected', (p) => step(`connected recovered=${p && p.recovered}`));
  socket.on('connected', (p) => {
    const now = Date.now();
    const first = c.connects.length === 0;
    const connect = [now, p && p.recovered === true];
    c.connects.push(connect);
    c.connected = true;
    if (!first) reconnectTimes.push(now);
    if (first || !(p && p.recovered)) void join(c, socket, spec, connect);
  });
  socket.on('disconnect', (reason) => {
    c.connected = false;
    c.disconnects.push([Date.now(), String(reason)]);
  });
  socket.on('connect_error', (err) => {
    connectErrors.set(err.message, (connectErrors.get(err.message) ?? 0) + 1);
    // A refusal with a retry hint (connection_limit / ip_limit): socket.io-client does not retry a refused
    // namespace by itself; a real client tries again after the hint, with jitter (docs/realtime.md).
    const after = err && err.data && err.data.retryAfterMs;
    if (typeof after === 'number') setTimeout(() => !socket.connected && socket.connect(), after * (0.5 + Math.random()));
  });
  socket.onAny((event, payload) => {
    if (event === 'message:new' || event.startsWith('analysis:') || event.startsWith('job:') || event.startsWith('notification:')) onEvent(c, payload);
  });
}

/**
 * Joins (again, after a recovery that was refused) the client's room. The time of the join's ack goes
 * with the connect: a client told to refetch refetches once it is back in its room (as docs/clients.md
 * says), so what was published before that ack is the refetch's, not a silent loss.
 */
async function join(c, socket, spec, connect) {
  // A join refused for a moment (Redis failing over) is tried again, as a client that knows it is not in its room would.
  for (let attempt = 1; ; attempt++) {
    try {
      if (spec.nsp === '/chat' && spec.room) {
        const ack = await socket.timeout(20000).emitWithAck('room:join', { roomId: spec.room });
        if (!ack?.ok) throw new Error(ack?.error ?? 'join refused');
      } else if (spec.nsp === '/realtime' && spec.room) {
        const ack = await socket.timeout(20000).emitWithAck('subscribe', { room: spec.room });
        if (!ack?.ok) throw new Error(ack?.error ?? 'subscribe refused');
      }
      if (!c.joinedAt) c.joinedAt = Date.now();
      connect[2] = Date.now();
      return;
    } catch (err) {
      connectErrors.set(`join: ${err.message}`, (connectErrors.get(`join: ${err.message}`) ?? 0) + 1);
      // Not connected any more: the next `connected` joins again. Refused for good (forbidden): stop.
      if (stopped || !socket.connected || c.connects.at(-1) !== connect || attempt >= 5 || /forbidden|not_found|bad_request/.test(err.message)) return;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** An EventSource as browsers run it: reconnect after `retry`, resume with Last-Event-ID. */
function openSse(url, spec) {
  const c = record(spec.key, 'sse', 'sse', spec.room);
  let retryMs = 3000;
  const connect = () => {
    if (stopped) return;
    const u = new URL(`/api/realtime/events?rooms=chat:${spec.room}`, url);
    /** @type {Record<string,string>} */
    const headers = { authorization: `Bearer ${spec.token}`, accept: 'text/event-stream' };
    if (c.lastEventId !== null) headers['last-event-id'] = c.lastEventId;
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers, localAddress: spec.addr, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        connectErrors.set(`sse ${res.statusCode}`, (connectErrors.get(`sse ${res.statusCode}`) ?? 0) + 1);
        res.resume();
        res.on('end', retry);
        return;
      }
      const now = Date.now();
      const first = c.connects.length === 0;
      c.connects.push([now, first ? false : res.headers['last-event-id-status'] === 'replayed']);
      if (!first) reconnectTimes.push(now);
      c.connected = true;
      if (!c.joinedAt) c.joinedAt = now;
      c.res = res;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let data = '';
          let id = null;
          for (const line of block.split('\n')) {
            if (line.startsWith('data: ')) data += line.slice(6);
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('retry: ')) retryMs = Number(line.slice(7)) || retryMs;
          }
          if (data) {
            try {
              onEvent(c, JSON.parse(data));
            } catch {
              /* keep-alive or not JSON */
            }
          }
          if (id !== null) c.lastEventId = id;
        }
      });
      res.on('end', retry);
      res.on('error', retry);
    });
    req.on('error', retry);
    let retried = false;
    function retry() {
      if (retried) return;
      retried = true;
      if (c.connected) c.disconnects.push([Date.now(), 'sse end']);
      c.connected = false;
      if (!stopped) setTimeout(connect, retryMs * (0.5 + Math.random()));
    }
  };
  connect();
}

async function start(msg) {
  const all = [...msg.sockets.map((s) => ['socket', s]), ...msg.sse.map((s) => ['sse', s])];
  // Connect in small waves, as users arrive, not in one burst.
  for (let i = 0; i < all.length; i++) {
    const [kind, spec] = all[i];
    if (kind === 'socket') openSocket(msg.url, spec);
    else openSse(msg.url, spec);
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
  }
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline && [...clients.values()].some((c) => !c.joinedAt)) await new Promise((r) => setTimeout(r, 200));
  const notReady = [...clients.values()].filter((c) => !c.joinedAt).length;
  process.send?.({ type: 'ready', notReady, errors: Object.fromEntries(connectErrors) });
}

function finish(msg) {
  stopped = true;
  const results = [];
  for (const c of clients.values()) {
    c.transportConnected = !!c.socket?.connected;
    results.push(countClient(c, msg.published, msg.until, msg.window));
    c.socket?.close();
    c.res?.destroy();
  }
  process.send?.({ type: 'result', results, reconnectTimes, errors: Object.fromEntries(connectErrors) }, () => process.exit(0));
}

process.on('message', (msg) => {
  if (msg.type === 'start') void start(msg);
  else if (msg.type === 'status') process.send?.({ type: 'status', connected: [...clients.values()].filter((c) => c.connected).length, total: clients.size });
  else if (msg.type === 'finish') finish(msg);
});
process.on('disconnect', () => process.exit(0));
