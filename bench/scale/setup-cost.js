#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * npm run bench:setup -- [--sockets=1500] [--kinds=ours,stock] [--concurrency=50] [--room-size=10]
 *                        [--idle-s=10] [--hold-s=10] [--cpu-prof[=DIR]] [--alloc-prof[=DIR]] [--port=30400] [--stack=NAME]
 *                        [--ours-root=OTHER_CHECKOUT] [--server-flags='NODE FLAGS'] [--server-env='{JSON}'] [--close-spread-s=0]
 *
 * What setting one socket up costs (issue 18), per socket and in CPU time, which the machine's load
 * does not change the way it changes wall-clock figures. ONE api process, no nginx: ours
 * (`node dist/main.js`) or the stock peer (bench/scale/stock-server.js: Socket.IO 4.8 +
 * @socket.io/redis-adapter), against the stack's Redis and MariaDB. The clients are bench:scale's
 * (load.js, in one separate process): ours connect with a token in the handshake, then
 * `subscribe {room: project:<id>}` (a room of --room-size members, checked against project_members)
 * once `connected`; stock name their rooms in the handshake and the server joins them.
 *
 * For each kind, in order:
 *   idle      --idle-s with no socket: the api's and the Redis server's own CPU rate (timers,
 *             heartbeats), subtracted below as "net"
 *   connect   --sockets sockets, --concurrency at a time: CPU µs per socket set up (raw and net of
 *             the idle rate over the same time), Redis commands and MariaDB statements per socket
 *   hold      --hold-s with every socket open: CPU µs per socket per second held (net of idle)
 *   close     every client disconnects: CPU µs per socket torn down
 *   memory   RSS, JS heap, external and arrayBuffers per socket, and what the RSS outside the JS heap
 *            is made of (bench/scale/rss-breakdown.js): the api's memory after the same GC request as
 *            bench:scale's (probe.js `gc`) at the end of the hold, against the same request before the
 *            first socket. --server-flags='--max-semi-space-size=2' adds node flags to the api process,
 *            --server-env='{"MALLOC_ARENA_MAX":"2"}' environment variables (both kinds, for comparisons).
 * CPU is read from /proc/<pid>/stat (user + system ticks) for the api process and for the Redis
 * server (INFO's process_id). Ticks are 10 ms: use 1,000 sockets or more, or the figures are noise. --cpu-prof profiles the api during the connect part and,
 * separately, the close part (V8's sampling profiler through node:inspector, in the api process by
 * bench/scale/probe.js: the same .cpuprofile as `node --cpu-prof`, which would profile the boot too
 * and write only at exit), writes <dir>/<kind>-connect.cpuprofile and <dir>/<kind>-close.cpuprofile
 * (open them in Chrome DevTools) and prints where the time went; the profiler's own cost inflates
 * that run's CPU figures, so compare runs without it. The close part is not paced by --concurrency:
 * every client disconnects in one go (a killed process's clients, a deploy), or, with
 * --close-spread-s, spread evenly over that many seconds (a few closes per event-loop turn, as a
 * deploy that spreads its closes: what batching per turn can do least for).
 * Memory (the probe's, in the api process): bytes the JS heap allocated per socket set up and per socket
 * closed, garbage included (v8.GCProfiler: heap used before each GC minus after the previous one) and the
 * GCs' own µs per socket (V8's figure, part of the CPU above); heap and RSS per socket held, each read after
 * the same explicit GC before the connect part and after it.
 * --alloc-prof samples the api's allocations (V8's sampling heap profiler, one sample per 1 KB allocated,
 * collected objects included) during the connect part and the close part, writes
 * <dir>/<kind>-connect.heapprofile and <kind>-close.heapprofile (Chrome DevTools, Memory tab) and prints
 * bytes per socket by package, by function and by our innermost function on the stack; it slows the
 * api, so compare CPU and bytes counted from runs without it.
 * --ours-root: another checkout (its dist/main.js) as "ours", for before/after on the same stack.
 */
const { fork, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const { now, sleep, waitFor, probe, loadAvg, parseOptions, onRequiredNode, freshStack, printTables } = require('./common');
const { perSocket: perSocketMemory } = require('./rss-breakdown');
const log = (m) => process.stderr.write(`[bench:setup ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const KNOWN = ['sockets', 'kinds', 'concurrency', 'room-size', 'idle-s', 'hold-s', 'cpu-prof', 'alloc-prof', 'port', 'stack', 'ours-root', 'server-flags', 'server-env', 'close-spread-s'];

/** A bad option: its message is all the user needs. */
class UsageError extends Error {}

function parseArgs(argv) {
  const { a, num } = parseOptions(argv, KNOWN, UsageError);
  const kinds = (a.kinds ?? 'ours,stock').split(',');
  for (const k of kinds) if (!['ours', 'stock'].includes(k)) throw new UsageError(`--kinds: ours and/or stock, not ${k}`);
  const sockets = num('sockets', 1500, 10);
  if (sockets > 15000) throw new UsageError('--sockets: at most 15,000 (one api process and one load process, each within the open-file limit)');
  return {
    sockets,
    kinds,
    concurrency: num('concurrency', 50, 1),
    roomSize: num('room-size', 10, 1),
    idleS: num('idle-s', 10, 1),
    holdS: num('hold-s', 10, 0),
    closeSpreadS: num('close-spread-s', 0, 0),
    cpuProf: a['cpu-prof'] === undefined ? null : a['cpu-prof'] === 'true' ? path.join(ROOT, '.stack', 'bench-setup-profiles') : path.resolve(a['cpu-prof']),
    allocProf: a['alloc-prof'] === undefined ? null : a['alloc-prof'] === 'true' ? path.join(ROOT, '.stack', 'bench-setup-profiles') : path.resolve(a['alloc-prof']),
    port: num('port', 30400, 1024),
    stack: a.stack ?? process.env.SWITCHBOARD_TEST_STACK ?? 'bench-setup',
    oursRoot: a['ours-root'] ? path.resolve(a['ours-root']) : ROOT,
    serverFlags: (a['server-flags'] ?? '').split(' ').filter(Boolean),
    serverEnv: a['server-env'] ? /** @type {Record<string, string>} */ (JSON.parse(a['server-env'])) : {},
  };
}

/* ------------------------------------------------------------------ measuring */

/** User + system CPU seconds of a process so far (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}


/** Statements a MariaDB server has run (its Questions counter). */
async function questions(db) {
  const [rows] = await db.query("SHOW GLOBAL STATUS LIKE 'Questions'");
  return Number(/** @type {{ Value: string }[]} */ (rows)[0].Value);
}

/**
 * Everything a part is measured by, read at its start and end: CPU of the api process and of the
 * Redis server, commands Redis processed, statements on the primary and the replica.
 */
async function snapshot(ctx) {
  const stats = await ctx.redis.info('stats');
  const [primary, replica] = await Promise.all([questions(ctx.primary), ctx.replica ? questions(ctx.replica) : 0]);
  return {
    t: now(),
    api: cpuSeconds(ctx.apiPid),
    redis: cpuSeconds(ctx.redisPid),
    // Minus the INFO this reads, and the SHOW STATUS on each server, so that only the server's own work counts.
    redisCommands: Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0),
    primary,
    replica,
  };
}

/** What happened between two snapshots. */
function delta(a, b) {
  return {
    seconds: (b.t - a.t) / 1000,
    api: b.api - a.api,
    redis: b.redis - a.redis,
    redisCommands: b.redisCommands - a.redisCommands - 1,
    primary: b.primary - a.primary - 1,
    replica: b.replica - a.replica - (b.replica ? 1 : 0),
  };
}

/** The part's figures per socket (`per` sockets), raw and net of the idle rates over the same time. */
function perSocket(d, idle, per) {
  const net = (v, rate) => v - rate * d.seconds;
  const us = (s) => +((s * 1e6) / per).toFixed(0);
  const each = (n) => +(n / per).toFixed(2);
  return {
    seconds: +d.seconds.toFixed(1),
    apiUsRaw: us(d.api),
    apiUs: us(net(d.api, idle.api)),
    redisUsRaw: us(d.redis),
    redisUs: us(net(d.redis, idle.redis)),
    redisCommands: each(net(d.redisCommands, idle.redisCommands)),
    primaryStatements: each(net(d.primary, idle.primary)),
    replicaStatements: each(net(d.replica, idle.replica)),
  };
}

/* ------------------------------------------------------------------ the api process */

async function waitPort(port, timeoutMs, child) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before listening`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`nothing listens on :${port} after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

/** What to stop if the run is interrupted (Ctrl-C, SIGTERM). */
const children = new Set();
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

async function startServer(kind, o, env, port, probeDir) {
  const main = kind === 'ours' ? path.join(o.oursRoot, 'dist', 'main.js') : path.join(__dirname, 'stock-server.js');
  const child = spawn(process.execPath, [...o.serverFlags, '--require', path.join(__dirname, 'probe.js'), main], {
    cwd: kind === 'ours' ? o.oursRoot : ROOT,
    env: {
      ...process.env,
      ...env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      MAX_CONCURRENT_CONNECTIONS: String(o.sockets * 2),
      MAX_CONNECTIONS_PER_IP: String(o.sockets * 2),
      SCALE_PROBE_DIR: probeDir,
      SCALE_STOCK_KEY: 'setup-stock',
      ...o.serverEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  try {
    await waitPort(port, 180000, child);
    await waitFor('the probe', () => fs.existsSync(path.join(probeDir, `${child.pid}.sock`)), 30000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20000);
  await exited;
  clearTimeout(t);
}



/* ------------------------------------------------------------------ the clients */

function startLoad(kind, users, url, secret, concurrency, index = 0) {
  const child = fork(path.join(__dirname, 'load.js'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const ask = (msg, key, timeoutMs = 600000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => (child.off('message', on), reject(new Error(`load process: no ${key} reply to ${msg.cmd}`))), timeoutMs);
      const on = (m) => {
        if (m && m[key] !== undefined) {
          clearTimeout(t);
          child.off('message', on);
          resolve(m[key]);
        }
      };
      child.on('message', on);
      child.send(msg);
    });
  return {
    child,
    ask,
    init: () => ask({ cmd: 'users', users, cfg: { index, kind, urls: [url], secret, concurrency, firstGlobal: 0 } }, 'ok'),
  };
}

/* ------------------------------------------------------------------ profile summary */

const { isOurs, areaOf, summarize } = require('./cpu-profile-summary');

/**
 * Where a sampling heap profile's bytes were allocated, per socket: by package or file (self), by function
 * (self) and by our innermost function on the stack (what in our code led to the allocation).
 */
function summarizeHeap(profile, sockets) {
  const self = new Map();
  const areas = new Map();
  const ours = new Map();
  let total = 0;
  const add = (m, k, b) => m.set(k, (m.get(k) ?? 0) + b);
  const walk = (node, innermostOurs) => {
    const cf = node.callFrame;
    const label = `${cf.functionName || '(anonymous)'} ${areaOf(cf.url) ?? ''}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    const mine = isOurs(cf.url) ? label : innermostOurs;
    if (node.selfSize) {
      total += node.selfSize;
      add(self, label, node.selfSize);
      add(areas, areaOf(cf.url) ?? cf.functionName, node.selfSize);
      add(ours, mine ?? '(no frame of ours)', node.selfSize);
    }
    for (const c of node.children ?? []) walk(c, mine);
  };
  walk(profile.head, null);
  const top = (m, n) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, n)
      .map(([what, b]) => ({ what, bytesPerSocket: Math.round(b / sockets), pct: +((100 * b) / total).toFixed(1) }));
  return { bytesPerSocket: Math.round(total / sockets), areas: top(areas, 20), self: top(self, 40), oursInnermost: top(ours, 30) };
}

/** Bytes and GC µs per socket from the probe's alloc-stop answer. */
function allocPerSocket(a, per) {
  return { allocBytes: Math.round(a.bytes / per), gcUs: Math.round(a.gcUs / per), gcs: a.gcs, newSpaceMb: +(a.newSpaceBytes / 1048576).toFixed(1) };
}

/* ------------------------------------------------------------------ one kind */

async function runKind(kind, o, env, users, ctx0) {
  const port = o.port + (kind === 'ours' ? 0 : 1);
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), `setup-probe-${kind}-`));
  log(`${kind}: starting the server on :${port}`);
  const server = await startServer(kind, o, env, port, probeDir);
  const ctx = { ...ctx0, apiPid: /** @type {number} */ (server.pid) };
  let load = null;
  try {
    await sleep(5000); // past the boot's own work (first heartbeats, pools filling)
    const i0 = await snapshot(ctx);
    await sleep(o.idleS * 1000);
    const i1 = await snapshot(ctx);
    const di = delta(i0, i1);
    const idle = { api: di.api / di.seconds, redis: di.redis / di.seconds, redisCommands: di.redisCommands / di.seconds, primary: di.primary / di.seconds, replica: di.replica / di.seconds };
    log(`${kind}: idle api ${(idle.api * 100).toFixed(2)} % of a core, Redis ${(idle.redis * 100).toFixed(2)} %, ${idle.redisCommands.toFixed(1)} Redis commands/s, load ${loadAvg()}`);

    const memBase = await probe(probeDir, server.pid, 'gc');
    load = startLoad(kind, users, `http://127.0.0.1:${port}`, env.JWT_SECRET, o.concurrency);
    await load.init();
    const mem0 = (await probe(probeDir, server.pid, 'gc')).after;
    if (o.cpuProf) await probe(probeDir, server.pid, 'profile-start');
    if (o.allocProf) await probe(probeDir, server.pid, 'heap-sample-start 1024');
    await probe(probeDir, server.pid, 'alloc-start');
    const c0 = await snapshot(ctx);
    const done = await load.ask({ cmd: 'connect' }, 'connectDone');
    const c1 = await snapshot(ctx);
    const connectAlloc = allocPerSocket(await probe(probeDir, server.pid, 'alloc-stop'), Math.max(1, done.connected));
    let heapProfile = null;
    if (o.allocProf) {
      fs.mkdirSync(o.allocProf, { recursive: true });
      const file = path.join(o.allocProf, `${kind}-connect.heapprofile`);
      await probe(probeDir, server.pid, `heap-sample-stop ${file}`);
      heapProfile = { file, ...summarizeHeap(JSON.parse(fs.readFileSync(file, 'utf8')), done.connected) };
    }
    let profile = null;
    if (o.cpuProf) {
      fs.mkdirSync(o.cpuProf, { recursive: true });
      const file = path.join(o.cpuProf, `${kind}-connect.cpuprofile`);
      await probe(probeDir, server.pid, `profile-stop ${file}`);
      profile = { file, ...summarize(JSON.parse(fs.readFileSync(file, 'utf8')), done.connected) };
    }
    const connect = { connected: done.connected, failed: done.failed, perS: Math.round(done.connected / done.seconds), ...perSocket(delta(c0, c1), idle, Math.max(1, done.connected)), ...connectAlloc, load: loadAvg() };
    const connectReport = await load.ask({ cmd: 'report' }, 'report');
    log(`${kind}: connect ${JSON.stringify(connect)}`);
    const mem1 = (await probe(probeDir, server.pid, 'gc')).after;
    const kb = (k) => +((mem1[k] - mem0[k]) / 1024 / Math.max(1, done.connected)).toFixed(2);
    const held = { rssKb: kb('rss'), heapKb: kb('heapUsed'), rssMb: +(mem1.rss / 1048576).toFixed(1) };
    log(`${kind}: held, after GC, per socket ${JSON.stringify(held)}`);

    let hold = null;
    if (o.holdS > 0) {
      const h0 = await snapshot(ctx);
      await sleep(o.holdS * 1000);
      const h1 = await snapshot(ctx);
      const p = perSocket(delta(h0, h1), idle, Math.max(1, done.connected));
      // per socket and per second held
      hold = { seconds: p.seconds, apiUsPerSocketS: +(p.apiUs / p.seconds).toFixed(1), redisUsPerSocketS: +(p.redisUs / p.seconds).toFixed(1), redisCommandsPerSocketS: +(p.redisCommands / p.seconds).toFixed(3), load: loadAvg() };
      log(`${kind}: hold ${JSON.stringify(hold)}`);
    }

    const memHeld = await probe(probeDir, server.pid, 'gc');
    const memory = { ...perSocketMemory(memBase.after, memHeld.after, done.connected), rssMb: [memBase.after.rss, memHeld.after.rss].map((b) => Math.round(b / 1048576)) };
    log(`${kind}: memory per socket after GC (KB) ${JSON.stringify(memory)}`);

    if (o.allocProf) await probe(probeDir, server.pid, 'heap-sample-start 1024');
    await probe(probeDir, server.pid, 'alloc-start');
    if (o.cpuProf) await probe(probeDir, server.pid, 'profile-start');
    const x0 = await snapshot(ctx);
    await load.ask({ cmd: 'close', spreadMs: o.closeSpreadS * 1000 }, 'closed', 120000 + o.closeSpreadS * 1000);
    await sleep(1500);
    const x1 = await snapshot(ctx);
    const closeAlloc = allocPerSocket(await probe(probeDir, server.pid, 'alloc-stop'), Math.max(1, done.connected));
    let closeHeapProfile = null;
    if (o.allocProf) {
      const file = path.join(o.allocProf, `${kind}-close.heapprofile`);
      await probe(probeDir, server.pid, `heap-sample-stop ${file}`);
      closeHeapProfile = { file, ...summarizeHeap(JSON.parse(fs.readFileSync(file, 'utf8')), done.connected) };
    }
    let closeProfile = null;
    if (o.cpuProf) {
      const file = path.join(o.cpuProf, `${kind}-close.cpuprofile`);
      await probe(probeDir, server.pid, `profile-stop ${file}`);
      closeProfile = { file, ...summarize(JSON.parse(fs.readFileSync(file, 'utf8')), done.connected) };
    }
    const close = { ...perSocket(delta(x0, x1), idle, Math.max(1, done.connected)), ...closeAlloc, load: loadAvg() };
    log(`${kind}: close ${JSON.stringify(close)}`);
    return {
      kind,
      idle: { apiPctCore: +(idle.api * 100).toFixed(2), redisPctCore: +(idle.redis * 100).toFixed(2), redisCommandsPerS: +idle.redisCommands.toFixed(1), primaryStatementsPerS: +idle.primary.toFixed(1), replicaStatementsPerS: +idle.replica.toFixed(1) },
      connect: { ...connect, connectErrors: connectReport.connectErrors, subscribeErrors: connectReport.subscribeErrors },
      held,
      hold,
      memory,
      close,
      profile,
      heapProfile,
      closeHeapProfile,
      closeProfile,
    };
  } finally {
    if (load && load.child.exitCode === null) load.child.kill('SIGKILL');
    await stopServer(server);
    fs.rmSync(probeDir, { recursive: true, force: true });
  }
}

/* ------------------------------------------------------------------ main */

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!onRequiredNode(__filename)) return;
  const env = await freshStack(o.stack, log);
  const { makeFixtures, cleanup } = require('./fixtures');
  const fixtures = await makeFixtures(env, { users: o.sockets, roomSize: o.roomSize, tag: `setup${Date.now().toString(36)}`, log });
  const users = fixtures.users.map((u, i) => [u.id, u.project, Math.floor(i / o.roomSize)]);
  const Redis = require(path.join(ROOT, 'node_modules', 'ioredis'));
  const mysql = require(path.join(ROOT, 'node_modules', 'mysql2', 'promise'));
  const redis = new Redis(env.REDIS_URL);
  const dbOpts = { user: env.DB_USERNAME || 'root', password: env.DB_PASSWORD || '' };
  const primary = await mysql.createConnection({ host: env.DB_WRITE_HOST, port: Number(env.DB_WRITE_PORT || 3306), ...dbOpts });
  const [rh, rp] = String(env.DB_READ_HOST || '').split(',')[0].split(':');
  const replica = rh ? await mysql.createConnection({ host: rh, port: Number(rp || env.DB_PORT || 3306), ...dbOpts }) : null;
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  if (!fs.existsSync(`/proc/${redisPid}/stat`)) throw new Error(`the Redis server (pid ${redisPid}) is not a process on this machine: its CPU cannot be read`);
  const date = new Date().toISOString();
  log(`${o.sockets} sockets, rooms of ${o.roomSize}, ${o.concurrency} at a time, ${os.cpus().length} cores, load ${loadAvg()}`);
  const rows = [];
  try {
    for (const kind of o.kinds) {
      const row = await runKind(kind, o, env, users, { redis, primary, replica, redisPid });
      rows.push(row);
      const { profile, closeProfile, heapProfile, closeHeapProfile, ...figures } = row;
      process.stdout.write(`${JSON.stringify({ bench: 'setup', date, sockets: o.sockets, concurrency: o.concurrency, closeSpreadS: o.closeSpreadS, ...figures, profile: profile?.file, closeProfile: closeProfile?.file, heapProfile: heapProfile?.file })}\n`);
      for (const [part, hp] of /** @type {const} */ ([['connect', heapProfile], ['close', closeHeapProfile]])) {
        if (!hp) continue;
        printTables(`${kind}: allocation profile of the ${part} part, ${hp.file}: ${hp.bytesPerSocket} bytes sampled per socket`, [
          ['by package or file (self)', hp.areas],
          ['by function (self)', hp.self],
          ['by our innermost function on the stack', hp.oursInnermost],
        ]);
      }
      for (const [part, p] of /** @type {const} */ ([['connect', profile], ['close', closeProfile]])) {
        if (!p) continue;
        printTables(`${kind}: CPU profile of the ${part} part, ${p.file}: ${p.busyUsPerSocket} µs of samples per socket (profiler on)`, [
          ['by package or file (self time)', p.areas],
          ['by function (self time)', p.self],
          ['our functions (inclusive, synchronous part only)', p.oursInclusive],
        ]);
      }
    }
  } finally {
    await cleanup(env, log).catch((e) => log(`cleanup: ${e.message}`));
    await redis.quit().catch(() => undefined);
    await primary.end().catch(() => undefined);
    await replica?.end().catch(() => undefined);
  }
  const get = (k) => rows.find((r) => r.kind === k);
  const lines = [];
  const add = (what, f) => {
    const a = get('ours') ? f(get('ours')) : undefined;
    const b = get('stock') ? f(get('stock')) : undefined;
    lines.push({ what, ours: a ?? '-', stock: b ?? '-', 'ours/stock': typeof a === 'number' && typeof b === 'number' && b > 0 ? +(a / b).toFixed(2) : '' });
  };
  add('sockets set up', (r) => r.connect.connected);
  add('api CPU µs per socket set up (net of idle)', (r) => r.connect.apiUs);
  add('api CPU µs per socket set up (raw)', (r) => r.connect.apiUsRaw);
  add('Redis CPU µs per socket set up (net of idle)', (r) => r.connect.redisUs);
  add('api bytes allocated per socket set up (JS heap, garbage included)', (r) => r.connect.allocBytes);
  add('api GC µs per socket set up (part of the CPU above)', (r) => r.connect.gcUs);
  add('api RSS KB per socket held (after GC)', (r) => r.held.rssKb);
  add('api JS heap KB per socket held (after GC)', (r) => r.held.heapKb);
  add('Redis commands per socket set up', (r) => r.connect.redisCommands);
  add('MariaDB statements per socket (primary / replica)', (r) => `${r.connect.primaryStatements} / ${r.connect.replicaStatements}`);
  add('api idle, % of a core', (r) => r.idle.apiPctCore);
  add('Redis idle, % of a core', (r) => r.idle.redisPctCore);
  add('api CPU µs per socket per second held', (r) => r.hold?.apiUsPerSocketS);
  add('Redis CPU µs per socket per second held', (r) => r.hold?.redisUsPerSocketS);
  add('api CPU µs per socket closed', (r) => r.close.apiUs);
  add('api bytes allocated per socket closed', (r) => r.close.allocBytes);
  add('Redis CPU µs per socket closed', (r) => r.close.redisUs);
  add('Redis commands per socket closed', (r) => r.close.redisCommands);
  console.log(`\nbench:setup ${date}: ${o.sockets} sockets on one api process, ${o.concurrency} at a time${o.closeSpreadS ? `, closes spread over ${o.closeSpreadS} s` : ''}, load ${loadAvg()}${o.cpuProf || o.allocProf ? ' (profiler on: CPU figures inflated)' : ''}`);
  console.table(lines);
  process.exit(0);
}

// bench/scale/hold-cost.js starts servers and clients the same way.
module.exports = { startServer, stopServer, startLoad, cpuSeconds, summarize, summarizeHeap, children };

if (require.main === module)
  main().catch((err) => {
    log(err instanceof UsageError ? err.message : (err.stack ?? err.message));
    process.exit(1);
  });
