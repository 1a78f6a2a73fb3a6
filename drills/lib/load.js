// @ts-check
'use strict';
/**
 * The drill load, independent of any fault: fixtures, client processes (sockets on /chat,
 * /notifications and /realtime, SSE streams with Last-Event-ID), the sender process, and the
 * accounting at the end. A fault module only needs `start()`, then its fault, then `stop()`;
 * the Redis HA drills (redis-failover, replica-lag) use it the same way.
 */
const { fork } = require('node:child_process');
const path = require('node:path');
const { makeFixtures } = require('./fixtures');
const { clientAddress } = require('./http');
const { summarize, reconnectSpread } = require('./accounting');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function child(file) {
  const c = fork(path.join(__dirname, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=2048'] });
  /** @param {string} type */
  c.waitFor = (type, timeoutMs = 180000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${file}: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      const on = (m) => {
        if (m.type !== type) return;
        clearTimeout(timer);
        c.off('message', on);
        resolve(m);
      };
      c.on('message', on);
      c.once('exit', (code) => reject(new Error(`${file} exited (${code}) before ${type}`)));
    });
  return c;
}

class Load {
  /**
   * @param {string} url nginx
   * @param {{ clients: number, sse?: number, rate: number, analysesPerSecond?: number, log?: (m: string) => void }} opts
   */
  constructor(url, opts) {
    this.url = url;
    this.opts = opts;
    this.log = opts.log ?? (() => {});
    this.workers = [];
    this.sender = null;
  }

  async start() {
    const { clients, rate } = this.opts;
    const sseCount = this.opts.sse ?? Math.round(clients / 10);
    const userCount = Math.max(20, Math.min(100, Math.ceil(clients / 20 / 10) * 10));
    const t0 = Date.now();
    this.fixtures = await makeFixtures(this.url, { users: userCount });
    const { users, rooms, projects } = this.fixtures;
    this.log(`fixtures: ${users.length} users, ${rooms.length} rooms, ${projects.length} projects in ${Date.now() - t0} ms`);
    const roomOf = (u, kind) => {
      if (kind === 0) return rooms.find((r) => r.size === 'large');
      if (kind === 1) return rooms.find((r) => r.size === 'medium' && r.memberIdx.includes(u)) ?? rooms[0];
      return rooms.find((r) => r.size === 'small' && r.memberIdx.includes(u)) ?? rooms[0];
    };
    const sockets = [];
    for (let i = 0; i < clients; i++) {
      const u = i % users.length;
      const slot = i % 20;
      const base = { key: `s${i}`, token: users[u].token, addr: clientAddress(i) };
      if (slot < 14) sockets.push({ ...base, nsp: '/chat', room: roomOf(u, i % 3).id });
      else if (slot < 17) sockets.push({ ...base, nsp: '/realtime', room: `project:${projects[Math.min(projects.length - 1, Math.floor(u / 10))].id}` });
      else sockets.push({ ...base, nsp: '/notifications', room: null });
    }
    const sse = Array.from({ length: sseCount }, (_, j) => {
      const u = j % users.length;
      return { key: `e${j}`, token: users[u].token, addr: clientAddress(clients + j), room: roomOf(u, 1 + (j % 2)).id };
    });
    const processes = Math.max(2, Math.min(6, Math.ceil((clients + sseCount) / 400)));
    this.workers = Array.from({ length: processes }, () => child('client-worker.js'));
    const t1 = Date.now();
    this.workers.forEach((w, k) =>
      w.send({ type: 'start', url: this.url, sockets: sockets.filter((_, i) => i % processes === k), sse: sse.filter((_, i) => i % processes === k) }),
    );
    const ready = await Promise.all(this.workers.map((w) => w.waitFor('ready')));
    const notReady = ready.reduce((s, r) => s + r.notReady, 0);
    this.log(`${clients} sockets + ${sseCount} SSE connected and joined in ${Date.now() - t1} ms (${notReady} not ready)`);
    if (notReady) this.log(`connect errors: ${JSON.stringify(Object.assign({}, ...ready.map((r) => r.errors)))}`);
    this.sender = child('sender-worker.js');
    this.sender.send({ type: 'start', url: this.url, fixtures: this.fixtures, rate, analysesPerSecond: this.opts.analysesPerSecond ?? 1 });
    this.startedAt = Date.now();
    return { notReady };
  }

  /** Clients connected right now, over all client processes. */
  async connected() {
    const all = await Promise.all(
      this.workers.map((w) => {
        const p = w.waitFor('status', 10000);
        w.send({ type: 'status' });
        return p;
      }),
    );
    return { connected: all.reduce((s, a) => s + a.connected, 0), total: all.reduce((s, a) => s + a.total, 0) };
  }

  /** Resolves with the ms until every client is connected again (or null after timeoutMs). */
  async allConnected(since, timeoutMs = 90000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { connected, total } = await this.connected();
      if (connected === total) return Date.now() - since;
      await sleep(250);
    }
    return null;
  }

  /**
   * Stops the writers, lets delivery and recovery settle, waits for every client to be back, then
   * counts. `window` is the fault's [start, end] for the latency during it.
   */
  async stop({ window = null, settleMs = 5000 } = {}) {
    this.sender.send({ type: 'finish' });
    const sent = await this.sender.waitFor('result', 60000);
    const until = Date.now();
    const backAfterMs = await this.allConnected(until, 60000);
    await sleep(settleMs);
    this.workers.forEach((w) => w.send({ type: 'finish', published: sent.published, until, window }));
    const results = await Promise.all(this.workers.map((w) => w.waitFor('result', 120000)));
    const perClient = results.flatMap((r) => r.results);
    const reconnectTimes = results.flatMap((r) => r.reconnectTimes);
    const socketAcks = Object.entries(sent.statuses)
      .filter(([k]) => k.startsWith('socket '))
      .reduce((acc, [k, v]) => ({ sent: acc.sent + v, lost: acc.lost + (k.endsWith(' timeout') ? v : 0), refused: acc.refused + (k.endsWith(' ok') || k.endsWith(' timeout') ? 0 : v) }), { sent: 0, lost: 0, refused: 0 });
    const http = Object.entries(sent.statuses).filter(([k]) => !k.startsWith('socket ')).reduce(
      (acc, [k, v]) => {
        const status = k.split(' ').pop();
        if (status === 'network' || status === 'timeout' || (/^\d+$/.test(status) && Number(status) >= 500)) acc.errors += v;
        acc.requests += v;
        return acc;
      },
      { requests: 0, errors: 0 },
    );
    const sockets = summarize(perClient.filter((r) => r.kind === 'socket'));
    const sse = summarize(perClient.filter((r) => r.kind === 'sse'));
    return {
      durationS: Math.round((until - this.startedAt) / 1000),
      published: sent.published.length,
      publishRate: Math.round(sent.published.length / Math.max(1, (until - this.startedAt) / 1000)),
      http: { ...http, byStatus: sent.statuses, failures: sent.failures, failureKinds: sent.failureKinds ?? {}, failureSpan: sent.failureSpan ?? null },
      socketAcks: { ...socketAcks, ...(sent.resends ?? {}) },
      analyses: sent.analyses,
      clientsBackAfterMs: backAfterMs,
      reconnects: reconnectSpread(reconnectTimes),
      sockets,
      byNamespace: Object.fromEntries(['/chat', '/realtime', '/notifications'].map((n) => [n, summarize(perClient.filter((r) => r.nsp === n))]).map(([n, s]) => [n, { clients: s.clients, reconnects: s.reconnects, recoveredTrue: s.recoveredTrue, recoveredFalse: s.recoveredFalse, duplicates: s.duplicates, connectedAtEnd: s.connectedAtEnd }])),
      sse,
      clientErrors: Object.assign({}, ...results.map((r) => r.errors)),
    };
  }

  kill() {
    for (const w of [...this.workers, this.sender]) if (w && w.exitCode === null) w.kill('SIGKILL');
  }
}

module.exports = { Load, sleep };
