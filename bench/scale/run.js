#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * npm run bench:scale -- [--sockets=100000] [--instances=3] [--kinds=ours,stock] [--parts=hold,traffic,storm]
 *                        [--hold-s=300] [--traffic-s=120] [--rate=1000 | --rates=100,300,1000] [--room-size=10] [--storm-rate=100]
 *                        [--load-procs=auto] [--concurrency=40] [--direct] [--port=21400] [--stack=NAME]
 *                        [--cap=1.5] [--storm-timeout-s=180] [--storm=kill,rolling] [--kills=1] [--storm-prof=DIR]
 *                        [--traffic-prof=DIR]
 *
 * Phase 3 of seed 002 on one machine (issue 18): the production topology of `npm run up -- --instances N`
 * (nginx, sticky by client address, in front of N api processes and 2 workers, all under supervisord, MariaDB primary
 * + replica, Redis) holding --sockets socket.io-client sockets opened by --load-procs separate processes
 * (load.js), authenticated with tokens, in rooms of --room-size plus each user's own room. Then:
 *   hold     --hold-s with heartbeats: connect rate, RSS per connection per api process after the same
 *            GC request as bench:realtime part a (probe.js), event-loop lag, Redis memory, drops
 *   traffic  --rate room messages/s for --traffic-s: delivery p50/p99/max, every delivery accounted for, and the
 *            CPU per delivery of the api processes, nginx, Redis and the load processes; with --rates, one such
 *            part per rate in turn on the same sockets (where the machine stops keeping up)
 *   storm    kill -9 one api process (supervisord restarts it): time until every client is back
 *            (recovered:true, or told recovered:false), peak sockets back per second, what was refused;
 *            then a rolling restart of every api process (supervisorctl restart, one after another).
 *            A --storm-rate publisher runs throughout, so a loss during the storm would show.
 * The same against the stock peer (stock-server.js: Socket.IO 4.8 + @socket.io/redis-adapter), the same
 * N processes behind the same nginx, in the same run. --direct: clients connect to the api processes
 * themselves (no nginx), to tell nginx's share. Prints one JSON line per kind and part, then a table
 * side by side with ratios (ours / stock). Everything it started is stopped by pid at the end.
 */
const { execFileSync, fork, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const { now, sleep, waitFor, probe, loadAvg, parseOptions, onRequiredNode, freshStack } = require('./common');
const { hardNofile, relaunchWithNofile } = require('../nofile');
const { perSocket: perSocketMemory } = require('./rss-breakdown');
const { summarize } = require('./cpu-profile-summary');
const log = (m) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/* ------------------------------------------------------------------ options */

const KNOWN = ['storm', 'sockets', 'instances', 'kinds', 'parts', 'hold-s', 'traffic-s', 'rate', 'rates', 'room-size', 'storm-rate', 'load-procs', 'concurrency', 'direct', 'port', 'stack', 'cap', 'storm-timeout-s', 'storm-prof', 'kills', 'traffic-prof'];
function parseArgs(argv) {
  const { a, num } = parseOptions(argv, KNOWN);
  const sockets = num('sockets', 100000, 10);
  const roomSize = num('room-size', 10, 1);
  const kinds = (a.kinds ?? 'ours,stock').split(',');
  const parts = (a.parts ?? 'hold,traffic,storm').split(',');
  for (const k of kinds) if (!['ours', 'stock'].includes(k)) throw new Error(`--kinds: ours and/or stock, not ${k}`);
  for (const p of parts) if (!['hold', 'traffic', 'storm'].includes(p)) throw new Error(`--parts: hold, traffic and/or storm, not ${p}`);
  return {
    sockets,
    instances: num('instances', 3, 1),
    kinds,
    parts,
    holdS: num('hold-s', 300, 0),
    trafficS: num('traffic-s', 120, 1),
    // Several traffic parts in one run, one per rate (room messages/s), on the same connected sockets.
    rates: a.rates ? a.rates.split(',').map((r) => {
      const n = Number(r);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--rates: whole numbers of messages per second, comma-separated, not ${r}`);
      return n;
    }) : [num('rate', 1000, 1)],
    roomSize,
    stormRate: num('storm-rate', 100, 0),
    loadProcs: a['load-procs'] && a['load-procs'] !== 'auto' ? num('load-procs', 1) : Math.max(2, Math.ceil(sockets / Math.min(12500, (hardNofile() - 2048) * 0.8))),
    concurrency: num('concurrency', 40),
    direct: a.direct === 'true',
    port: a.port ? num('port', 21400, 1024) : undefined,
    stack: a.stack ?? process.env.SWITCHBOARD_TEST_STACK ?? 'bench-scale',
    cap: num('cap', 1.5, 1),
    stormTimeoutS: num('storm-timeout-s', 180),
    stormSteps: (a.storm ?? 'kill,rolling').split(','),
    // kill -9 storms in one run, each of the next api process (one connect, several samples: storms vary ±20 %).
    kills: num('kills', 1, 1),
    stormProf: a['storm-prof'] ? path.resolve(a['storm-prof']) : undefined,
    // Every api process profiled while a traffic part publishes and drains, summed per delivery (where its CPU goes).
    trafficProf: a['traffic-prof'] ? path.resolve(a['traffic-prof']) : undefined,
  };
}

/* ------------------------------------------------------------------ open files */

/** The open-file limit every process needs: nginx holds two descriptors per socket, all in one worker at worst. */
function neededNofile(sockets) {
  return Math.max(65536, sockets * 2 + 8192);
}

/** Each api process and each load process must hold its share of the sockets within the open-file limit. */
function checkFits(o) {
  const perProcess = hardNofile() - 1024;
  // A hash ring is never perfectly even, and after a crash a process takes a share of the dead one's.
  const perApi = Math.ceil((o.sockets / o.instances) * 1.35);
  if (perApi > perProcess) {
    throw new Error(`${o.sockets} sockets over ${o.instances} api processes is up to ~${perApi} per process, over the open-file limit (${hardNofile()}): use --instances=${Math.ceil((o.sockets * 1.35) / perProcess)} or more`);
  }
  const perLoad = Math.ceil(o.sockets / o.loadProcs);
  if (perLoad > perProcess) throw new Error(`--load-procs=${o.loadProcs} is ${perLoad} sockets per load process, over the open-file limit (${hardNofile()})`);
}

/* ------------------------------------------------------------------ small helpers */


function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** User + system CPU seconds of these processes so far (/proc/<pid>/stat). */
function cpuSecondsOf(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / 100;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid) {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((l) => Number(l.trim())).filter(Boolean);
}

/** Established TCP connections whose local port is `port` (the server side of each socket). */
function establishedOn(port) {
  const out = execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out ? out.split('\n').filter(Boolean).length : 0;
}

async function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** nginx on base, api processes on base+1..base+N: below the stacks' 24000-31999, clear of fetch's bad ports. */
async function choosePort(instances, wanted) {
  // --port is taken as given (any range the caller owns), not only inside the default one.
  for (let base = wanted ?? 21400; wanted ? base === wanted : base < 23900; base += 20) {
    let free = true;
    for (let p = base; p <= base + instances; p++) if (!(await portFree(p))) free = false;
    if (free) return base;
    if (wanted) throw new Error(`--port=${wanted}: ports ${wanted}-${wanted + instances} are not all free`);
  }
  throw new Error('no free port range between 21400 and 23900');
}



/** Percentile of the load processes' merged 0.1 ms histograms. */
function histPercentiles(hists) {
  const merged = new Map();
  for (const h of hists) for (const [b, n] of h) merged.set(b, (merged.get(b) ?? 0) + n);
  const keys = [...merged.keys()].sort((x, y) => x - y);
  const total = keys.reduce((a, k) => a + merged.get(k), 0);
  const at = (q) => {
    let acc = 0;
    for (const k of keys) {
      acc += merged.get(k);
      if (acc >= q * total) return +(k * 0.1).toFixed(1);
    }
    return NaN;
  };
  return { count: total, p50: at(0.5), p99: at(0.99), max: keys.length ? +(keys[keys.length - 1] * 0.1).toFixed(1) : NaN };
}

/** Load processes' [deliveries, sum ms, max ms, within 20 ms] per 5 s of send time, merged: one entry per window. */
function latencyWindows(perProcess) {
  const out = [];
  for (const ws of perProcess) {
    ws.forEach((x, i) => {
      const o = out[i] ?? (out[i] = [0, 0, 0, 0]);
      o[0] += x[0];
      o[1] += x[1];
      o[2] = Math.max(o[2], x[2]);
      o[3] += x[3];
    });
  }
  return Array.from(out, (o, i) => ({ fromS: i * 5, n: o?.[0] ?? 0, meanMs: o?.[0] ? +(o[1] / o[0]).toFixed(1) : null, maxMs: o ? +o[2].toFixed(1) : null, within20ms: o?.[0] ? +(o[3] / o[0]).toFixed(3) : null }));
}

function sortedPct(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/* ------------------------------------------------------------------ load processes */

class Load {
  constructor(children) {
    /** @type {import('node:child_process').ChildProcess[]} */
    this.children = children;
  }

  static async start(n, kind, users, urls, secret, concurrency) {
    const per = Math.ceil(users.length / n);
    const children = [];
    for (let p = 0; p < n; p++) {
      const slice = users.slice(p * per, (p + 1) * per);
      if (!slice.length) break;
      const child = fork(path.join(__dirname, 'load.js'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
      child.on('error', (e) => log(`load process ${child.pid}: ${e.message}`));
      children.push(child);
      const load = new Load([child]);
      await load.ask({ cmd: 'users', users: slice, cfg: { index: p, kind, urls, secret, concurrency, firstGlobal: p * per } }, 'ok');
    }
    return new Load(children);
  }

  /** Sends a command to every load process and resolves with each one's reply carrying `key`. */
  ask(msg, key, timeoutMs = 120000) {
    return Promise.all(
      this.children.map(
        (c) =>
          new Promise((resolve, reject) => {
            if (!c.connected) return reject(new Error(`load process ${c.pid} is gone`));
            const t = setTimeout(() => (c.off('message', on), reject(new Error(`load process ${c.pid}: no ${key} reply to ${msg.cmd}`))), timeoutMs);
            const on = (m) => {
              if (m && m[key] !== undefined) {
                clearTimeout(t);
                c.off('message', on);
                resolve(m[key]);
              }
            };
            c.on('message', on);
            c.send(msg);
          }),
      ),
    );
  }

  async status() {
    const s = await this.ask({ cmd: 'status' }, 'status', 30000);
    return {
      ready: s.reduce((a, x) => a + x.ready, 0),
      total: s.reduce((a, x) => a + x.total, 0),
      disconnects: s.reduce((a, x) => a + x.disconnects, 0),
      delivered: s.reduce((a, x) => a + x.delivered, 0),
    };
  }

  /** Until every expected delivery arrived, or none arrived for 10 s (at most 120 s): late is not lost. */
  async drain(expected) {
    const started = Date.now();
    let last = -1;
    let stableSince = Date.now();
    for (;;) {
      const { delivered } = await this.status();
      if (delivered >= expected || Date.now() - stableSince > 10000 || Date.now() - started > 120000) return (Date.now() - started) / 1000;
      if (delivered !== last) {
        last = delivered;
        stableSince = Date.now();
      }
      await sleep(500);
    }
  }

  /** `sent`: messages published since `traffic` (what each socket's room should have had). */
  async report(endTraffic = false, sent = undefined, failedSeqs = []) {
    const rs = await this.ask({ cmd: 'report', endTraffic, sent, failedSeqs }, 'report', 120000);
    const sum = (f) => rs.reduce((a, r) => a + (f(r) ?? 0), 0);
    const merge = (f) => {
      /** @type {Record<string, number>} */
      const out = {};
      for (const r of rs) for (const [k, v] of Object.entries(f(r) ?? {})) out[k] = (out[k] ?? 0) + Number(v);
      return out;
    };
    const back = rs.flatMap((r) => r.back).sort((a, b) => a - b);
    const perSecond = merge((r) => r.backPerSecond);
    const tr = rs.map((r) => r.traffic).filter(Boolean);
    const traffic = tr.length
      ? {
          ...Object.fromEntries(['expected', 'delivered', 'missing', 'missingTold', 'socketsMissing', 'owedToDisconnected', 'socketsDisconnectedOwed', 'duplicates', 'wrongRoom'].map((k) => [k, tr.reduce((a, t) => a + t[k], 0)])),
          examples: tr.flatMap((t) => t.examples).slice(0, 5),
        }
      : null;
    return {
      ready: sum((r) => r.ready),
      disconnects: sum((r) => r.disconnects),
      disconnectReasons: merge((r) => r.disconnectReasons),
      connectErrors: merge((r) => r.connectErrors),
      recoveredTrue: sum((r) => r.recoveredTrue),
      recoveredFalse: sum((r) => r.recoveredFalse),
      subscribeFailures: sum((r) => r.subscribeFailures),
      subscribeErrors: merge((r) => r.subscribeErrors),
      back,
      backP50: +sortedPct(back, 0.5).toFixed(0),
      backP99: +sortedPct(back, 0.99).toFixed(0),
      backMax: back.length ? +back[back.length - 1].toFixed(0) : NaN,
      peakBackPerS: Math.max(0, ...Object.values(perSecond)),
      backPerSecond: perSecond,
      refusedPerSecond: merge((r) => r.refusedPerSecond),
      lastBackAt: Math.max(0, ...rs.map((r) => r.lastBackAt)),
      latency: histPercentiles(rs.map((r) => r.hist)),
      latencyWindows: latencyWindows(rs.map((r) => r.windows ?? [])),
      traffic,
      clientCpuS: +sum((r) => r.cpuS).toFixed(1),
      clientRssMb: sum((r) => r.rssMb),
      // Per load process since the mark: its own event-loop delay and GC pauses (a late delivery may be the client's).
      clientLagP99ms: rs.map((r) => +r.lagP99Ms.toFixed(1)),
      clientLagMaxMs: rs.map((r) => +r.lagMaxMs.toFixed(0)),
      clientGcMaxMs: rs.map((r) => +r.gcMaxMs.toFixed(0)),
      clientGcS: +sum((r) => r.gcMs / 1000).toFixed(1),
    };
  }

  async close() {
    await this.ask({ cmd: 'close' }, 'closed', 60000).catch((e) => log(`closing the load: ${e.message}`));
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        await Promise.race([exited, sleep(5000)]);
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    }
  }

  get pids() {
    return this.children.map((c) => c.pid);
  }
}

/* ------------------------------------------------------------------ publishers */

/** Ours: RealtimeService as a worker uses it (Redis only). Stock: a Socket.IO server with the Redis adapter that serves no one. */
async function publisherFor(kind, env) {
  const Redis = require(path.join(ROOT, 'node_modules', 'ioredis'));
  const redis = new Redis(env.REDIS_URL);
  redis.on('error', (e) => log(`publisher's Redis: ${e.message}`));
  if (kind === 'ours') {
    const { EventLog } = require(path.join(ROOT, 'dist', 'core', 'realtime', 'event-log.js'));
    const { RedisRealtimeService } = require(path.join(ROOT, 'dist', 'core', 'realtime', 'redis-realtime.service.js'));
    const svc = new RedisRealtimeService(new EventLog(redis, { prefix: env.REDIS_PREFIX || 'sb:', historyPerRoom: 1000, historyTtlMs: 600000 }));
    return { publish: (room, payload) => svc.toRoom(room, 'bench', payload), close: () => redis.quit() };
  }
  const { Server } = require(path.join(ROOT, 'node_modules', 'socket.io'));
  const { createAdapter } = require(path.join(ROOT, 'node_modules', '@socket.io', 'redis-adapter'));
  const sub = redis.duplicate();
  const io = new Server({ adapter: createAdapter(redis, sub, { key: 'scale-stock' }) });
  const nsp = io.of('/realtime');
  return {
    publish: async (room, payload) => void nsp.to(room).emit('bench', payload),
    close: async () => {
      // Not io.close(): this server was never attached, it has no engine to close.
      nsp.adapter.close?.();
      await redis.quit().catch(() => undefined);
      await sub.quit().catch(() => undefined);
    },
  };
}

/** `[back, refused]` for each wall-clock second from `fromMs` to the last one with either. */
function perSecondSeries(back, refused, fromMs) {
  const first = Math.floor(fromMs / 1000);
  const last = Math.max(first, ...[...Object.keys(back), ...Object.keys(refused)].map(Number));
  const out = [];
  for (let sec = first; sec <= last; sec++) out.push([back[sec] ?? 0, refused[sec] ?? 0]);
  return out;
}

/** How long after the drain the storm's missing events are counted again (late is not lost). */
const LATE_RECHECK_S = 30;

/** Publishes `rate` msg/s to the rooms in turn (seq 1 → room 0, ...) until stop() or `total` messages. */
function startPublishing(pub, projects, rate, total = Infinity) {
  let stopped = false;
  let sent = 0;
  /** Seqs whose publish failed: the publisher was told, so no socket is owed them. */
  const failedSeqs = [];
  const inflight = new Set();
  const done = (async () => {
    const started = now();
    while (!stopped && sent < total) {
      const due = Math.min(total, Math.floor(((now() - started) / 1000) * rate));
      while (sent < due) {
        const seq = ++sent;
        const p = pub.publish(`project:${projects[(seq - 1) % projects.length]}`, { seq, t: now() }).catch(() => failedSeqs.push(seq));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(1);
    }
    await Promise.all(inflight);
    return { sent, failed: failedSeqs.length, failedSeqs, seconds: (now() - started) / 1000 };
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
    done,
    get sent() {
      return sent;
    },
  };
}

/* ------------------------------------------------------------------ the cluster under test */

/** A checkout whose dist/main.js is the stock server, for the same supervisord programs (symlinks, under .stack/). */
function stockRoot() {
  const dir = path.join(ROOT, '.stack', 'scale-stock-root');
  fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
  const link = (target, at) => {
    fs.rmSync(at, { force: true, recursive: false });
    fs.symlinkSync(target, at);
  };
  for (const d of ['nginx', 'supervisor', 'node_modules', 'bin', 'scripts']) link(path.join(ROOT, d), path.join(dir, d));
  link(path.join(__dirname, 'stock-server.js'), path.join(dir, 'dist', 'main.js'));
  return dir;
}

async function startCluster(kind, o, env, port, probeDir) {
  const cluster = require(path.join(ROOT, 'scripts', 'cluster.js'));
  const clusterEnv = {
    ...env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    MAX_CONCURRENT_CONNECTIONS: String(Math.ceil(o.sockets * o.cap)),
    MAX_CONNECTIONS_PER_IP: String(o.sockets),
    NODE_OPTIONS: `${env.NODE_OPTIONS ? `${env.NODE_OPTIONS} ` : ''}--require ${path.join(__dirname, 'probe.js')}`,
    SCALE_PROBE_DIR: probeDir,
  };
  const root = kind === 'ours' ? ROOT : stockRoot();
  const started = Date.now();
  const handle = await cluster.start({ instances: o.instances, port, env: clusterEnv, root, name: `scale-${kind}`, log, maxSockets: o.sockets, readyTimeoutMs: 180000 });
  log(`${kind}: cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s (nginx :${port}, api :${handle.apiPorts.join(', :')})`);
  return handle;
}

/** Every api process answers on its own port (nginx's /up needs only one of them). */
async function waitLive(ports, timeoutMs = 180000) {
  for (const p of ports) {
    await waitFor(`:${p}/livez`, async () => {
      try {
        return (await fetch(`http://127.0.0.1:${p}/livez`, { signal: AbortSignal.timeout(2000) })).status === 200;
      } catch {
        return false;
      }
    }, timeoutMs, 500);
  }
}

async function apiPids(handle) {
  const pids = [];
  for (const p of handle.apiPorts) pids.push(await handle.pidOf(handle.apiProgram(p)));
  return pids;
}

/** What to stop if the run is interrupted (Ctrl-C, SIGTERM): the load processes and the cluster. */
const running = { load: /** @type {Load | null} */ (null), handle: /** @type {any} */ (null) };
let interrupted = false;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the load and the cluster`);
    for (const c of running.load?.children ?? []) c.kill('SIGKILL');
    void Promise.resolve(running.handle?.stop(30000))
      .catch(() => undefined)
      .finally(() => process.exit(130));
  });
}

/** Cores busy on the whole machine between two machineCpu() readings (1.0 = one core), everything on it included. */
function busyCores(from, to) {
  return +((to.busy - from.busy) / Math.max(0.01, (to.total - from.total) / os.cpus().length)).toFixed(2);
}

/** nginx's master and its workers. */
const nginxTree = (pid) => [pid, ...childrenOf(pid)];

/** The machine's busy and total CPU seconds so far, all cores (/proc/stat): what everything on it used, ours or not. */
function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, v) => a + v, 0);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/** The pid listening on a TCP port of this machine (ss -ltnp), or 0. */
function listenerPid(port) {
  const out = spawnSync('ss', ['-Hltnp', `( sport = :${port} )`], { encoding: 'utf8' }).stdout;
  return Number(/pid=(\d+)/.exec(out)?.[1] ?? 0);
}

/**
 * Where a storm step's CPU goes, second by second: each api process (the restarted one apart, its boot
 * included), nginx, Redis and the load processes, beside the sockets back. `--storm-prof=<dir>` also
 * profiles the restarted process from its start until every client is back (probe.js profile-start).
 */
function watchStorm({ handle, load, ports, nginxPid, redisPid, probeDir, profDir, kind }) {
  const restartedPort = ports[0];
  const program = handle.apiProgram(restartedPort);
  /** @type {Map<number, number>} port → pid being watched */
  const pidOn = new Map();
  /** @type {Map<number, number>} pid → CPU seconds when first seen (0 for the restarted process: its boot counts) */
  const cpu0 = new Map();
  const cpuOf = (pid) => cpuSecondsOf([pid]);
  const nginxPids = () => nginxTree(nginxPid);
  const start = { nginx: cpuSecondsOf(nginxPids()), redis: redisPid ? cpuOf(redisPid) : 0, load: cpuSecondsOf(load.pids), machine: machineCpu() };
  const timeline = [];
  let last = start;
  /** @type {Map<number, number>} pid → CPU seconds at the last sample */
  let lastApi = new Map();
  let profiling = 0;
  let stopped = false;
  /** @type {{ pidSeenS?: number, listeningS?: number }} seconds from the kill until the new process was seen, and listened */
  const restartSeen = {};
  let t0 = now();
  const sample = async () => {
    for (const p of handle.apiPorts) {
      const known = pidOn.get(p);
      if (p === restartedPort || (known && pidAlive(known))) continue;
      // Another process died in the storm (run.js counts it as crashed): follow its successor.
      const pid = await handle.pidOf(handle.apiProgram(p)).catch(() => 0);
      if (pid && pidAlive(pid)) {
        pidOn.set(p, pid);
        cpu0.set(pid, 0);
      }
    }
    if (pidOn.get(restartedPort) === killedPid) {
      const pid = await handle.pidOf(program).catch(() => 0);
      if (pid && pid !== killedPid && pidAlive(pid)) {
        pidOn.set(restartedPort, pid);
        cpu0.set(pid, 0);
      }
    }
    const restarted = pidOn.get(restartedPort);
    if (restarted && restarted !== killedPid) restartSeen.pidSeenS ??= +((now() - t0) / 1000).toFixed(1);
    if (profDir && restarted && restarted !== killedPid && !profiling && fs.existsSync(path.join(probeDir, `${restarted}.sock`))) {
      profiling = restarted;
      await probe(probeDir, restarted, 'profile-start').catch((e) => ((profiling = 0), log(`profile-start: ${e.message}`)));
    }
    /** @type {Map<number, number>} */
    const apiNow = new Map();
    for (const pid of pidOn.values()) if (pid !== killedPid) apiNow.set(pid, cpuOf(pid));
    const cur = { nginx: cpuSecondsOf(nginxPids()), redis: redisPid ? cpuOf(redisPid) : 0, load: cpuSecondsOf(load.pids), machine: machineCpu() };
    const ready = (await load.status()).ready;
    const d = (a, b) => +(a - b).toFixed(2);
    timeline.push({
      s: Math.round((now() - t0) / 1000),
      ready,
      api: handle.apiPorts.map((p) => {
        const pid = pidOn.get(p) ?? 0;
        return apiNow.has(pid) ? d(apiNow.get(pid) ?? 0, lastApi.get(pid) ?? cpu0.get(pid) ?? 0) : 0;
      }),
      nginx: d(cur.nginx, last.nginx),
      redis: d(cur.redis, last.redis),
      load: d(cur.load, last.load),
      // The whole machine's cores busy in this interval (1.0 = one core), everything on it included.
      machineBusy: busyCores(last.machine, cur.machine),
    });
    last = cur;
    lastApi = apiNow;
  };
  let killedPid = 0;
  /** A process that stays up, profiled when `--storm-prof` is given (0: none). */
  let otherProfiled = 0;
  /** @type {Promise<void> | null} */
  let loop = null;
  return {
    /** The pid about to be killed, and the others' CPU from now. */
    async begin() {
      killedPid = await handle.pidOf(program);
      for (const p of handle.apiPorts) {
        const pid = await handle.pidOf(handle.apiProgram(p));
        pidOn.set(p, pid);
        cpu0.set(pid, cpuOf(pid));
      }
      // One of the processes that stay up, profiled over the same storm: what the others do meanwhile.
      const other = handle.apiPorts.find((p) => p !== restartedPort);
      if (profDir && other !== undefined) {
        const pid = pidOn.get(other) ?? 0;
        await probe(probeDir, pid, 'profile-start')
          .then(() => (otherProfiled = pid))
          .catch((e) => log(`profile-start (other): ${e.message}`));
      }
      return killedPid;
    },
    /** Just killed: the clock starts. */
    afterKill() {
      t0 = now();
      // When the restarted process accepts connections again (its boot varies from 3 to 20 s on a busy
      // machine): the storm's own time is from there. A TCP connect every 100 ms, apart from the sampling.
      void (async () => {
        // The killed process's listening socket outlives the signal for a moment: up only after it was seen down.
        let seenDown = false;
        while (!stopped && restartSeen.listeningS === undefined) {
          const up = await new Promise((resolve) => {
            const c = net.connect(restartedPort, '127.0.0.1', () => (c.destroy(), resolve(true)));
            c.on('error', () => resolve(false));
          });
          if (up && seenDown) restartSeen.listeningS = +((now() - t0) / 1000).toFixed(1);
          else await sleep(up ? 20 : 100);
          seenDown ||= !up;
        }
      })();
      loop = (async () => {
        while (!stopped) {
          await sleep(500);
          await sample().catch((e) => log(`storm sample: ${e.message}`));
        }
      })();
    },
    /** Every client back: the CPU since begin(), per reconnect, and the restarted process's profile. */
    async end(reconnects, backS) {
      stopped = true;
      await loop;
      await sample().catch(() => undefined);
      const apiCpu = handle.apiPorts.map((p) => {
        const pid = pidOn.get(p);
        return pid && pid !== killedPid ? cpuOf(pid) - (cpu0.get(pid) ?? 0) : 0; // the killed one's last second is lost
      });
      const restartedCpuS = apiCpu[handle.apiPorts.indexOf(restartedPort)];
      const othersCpuS = apiCpu.reduce((a, c) => a + c, 0) - restartedCpuS;
      const nginxCpuS = cpuSecondsOf(nginxPids()) - start.nginx;
      const redisCpuS = redisPid ? cpuOf(redisPid) - start.redis : 0;
      const loadCpuS = cpuSecondsOf(load.pids) - start.load;
      const per = (x) => +((x * 1000) / Math.max(1, reconnects)).toFixed(2);
      /** Stops a profile started with probe.js and summarizes it per reconnect (undefined if it failed). */
      const stopProfile = (pid, name) => {
        const file = path.join(profDir, `${kind}-storm-${name}${pid}.cpuprofile`);
        return probe(probeDir, pid, `profile-stop ${file}`, 120000)
          .then(() => ({ file, ...summarize(JSON.parse(fs.readFileSync(file, 'utf8')), reconnects) }))
          .catch((e) => void log(`profile-stop ${name}${pid}: ${e.message}`));
      };
      const profile = profiling ? await stopProfile(profiling, '') : undefined;
      const otherProfile = otherProfiled ? await stopProfile(otherProfiled, 'other-') : undefined;
      return {
        cpu: {
          restartedApiS: +restartedCpuS.toFixed(1),
          otherApiS: +othersCpuS.toFixed(1),
          nginxS: +nginxCpuS.toFixed(1),
          redisS: +redisCpuS.toFixed(1),
          loadS: +loadCpuS.toFixed(1),
          apiMsPerReconnect: per(restartedCpuS + othersCpuS),
          restartedApiMsPerReconnect: per(restartedCpuS),
          nginxMsPerReconnect: per(nginxCpuS),
          redisMsPerReconnect: per(redisCpuS),
          loadMsPerReconnect: per(loadCpuS),
          // Everything this machine ran meanwhile, ours or not (2 shared cores: the rest is other work).
          machineBusyCores: busyCores(start.machine, machineCpu()),
        },
        restart: { ...restartSeen, ...(restartSeen.listeningS !== undefined ? { backAfterListeningS: +(backS - restartSeen.listeningS).toFixed(1) } : {}) },
        timeline,
        ...(profile ? { profile } : {}),
        ...(otherProfile ? { otherProfile } : {}),
      };
    },
  };
}

/* ------------------------------------------------------------------ one kind: connect, hold, traffic, storm */

async function runKind(kind, o, env, fixtures) {
  const rows = [];
  const port = await choosePort(o.instances, o.port);
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), `scale-probe-${kind}-`));
  const handle = await startCluster(kind, o, env, port, probeDir);
  running.handle = handle;
  let load = null;
  let nginxPid = 0;
  const Redis = require(path.join(ROOT, 'node_modules', 'ioredis'));
  const redis = new Redis(env.REDIS_URL);
  redis.on('error', (e) => log(`Redis: ${e.message}`));
  const started = [];
  try {
    await waitLive(handle.apiPorts);
    let pids = await apiPids(handle);
    nginxPid = await handle.pidOf('nginx');
    await waitFor('probes', () => pids.every((pid) => fs.existsSync(path.join(probeDir, `${pid}.sock`))), 30000);
    await sleep(3000);
    // The baseline for RSS per connection: the same GC request, before any socket.
    const base = await Promise.all(pids.map((pid) => probe(probeDir, pid, 'gc')));
    const nginxBaseKb = childrenOf(nginxPid).reduce((a, p) => a + rssKb(p), rssKb(nginxPid));
    const urls = o.direct ? handle.apiPorts.map((p) => `http://127.0.0.1:${p}`) : [handle.url];

    // ---- connect
    await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
    const nginxCpu0 = cpuSecondsOf([nginxPid, ...childrenOf(nginxPid)]);
    const t0 = now();
    load = await Load.start(o.loadProcs, kind, fixtures.users.map((u, i) => [u.id, u.project, Math.floor(i / o.roomSize)]), urls, env.JWT_SECRET, o.concurrency);
    running.load = load;
    started.push(...load.pids);
    log(`${kind}: ${load.children.length} load processes opening ${o.sockets} sockets (${o.concurrency} at a time each) through ${o.direct ? 'the api ports directly' : 'nginx'}`);
    const progress = setInterval(() => void load?.status().then((s) => log(`${kind}: ${s.ready}/${s.total} sockets ready, load ${loadAvg()}`)).catch(() => undefined), 10000);
    const connectDone = await load.ask({ cmd: 'connect' }, 'connectDone', 30 * 60 * 1000);
    clearInterval(progress);
    const connectS = (now() - t0) / 1000;
    const connected = connectDone.reduce((a, r) => a + r.connected, 0);
    const failed = connectDone.reduce((a, r) => a + r.failed, 0);
    const connectReport = await load.report();
    const connectLag = await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
    // CPU per socket set up (handshake, auth, slot, subscribe), load-insensitive where wall time is not.
    const apiCpuS = connectLag.reduce((a, l) => a + l.cpu * l.seconds, 0);
    const nginxCpuS = cpuSecondsOf([nginxPid, ...childrenOf(nginxPid)]) - nginxCpu0;
    rows.push({
      kind,
      part: 'connect',
      sockets: o.sockets,
      connected,
      failed,
      seconds: +connectS.toFixed(1),
      perS: Math.round(connected / connectS),
      apiCpuMsPerSocket: +((apiCpuS * 1000) / Math.max(1, connected)).toFixed(2),
      nginxCpuMsPerSocket: +((nginxCpuS * 1000) / Math.max(1, connected)).toFixed(2),
      clientCpuMsPerSocket: +((connectReport.clientCpuS * 1000) / Math.max(1, connected)).toFixed(2),
      connectLagP99ms: connectLag.map((l) => l.lagP99),
      connectErrors: connectReport.connectErrors,
      subscribeErrors: connectReport.subscribeErrors,
      load: loadAvg(),
    });
    log(JSON.stringify(rows[rows.length - 1]));

    // ---- hold
    if (o.parts.includes('hold')) {
      await load.ask({ cmd: 'mark' }, 'marked');
      await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
      const redisPeak = { used: 0 };
      const rssPeak = pids.map(() => 0);
      const sample = async () => {
        const info = await redis.info('memory');
        redisPeak.used = Math.max(redisPeak.used, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
        pids.forEach((pid, i) => (rssPeak[i] = Math.max(rssPeak[i], rssKb(pid))));
      };
      const holdEnd = Date.now() + o.holdS * 1000;
      while (Date.now() < holdEnd) {
        await sample();
        await sleep(Math.min(10000, Math.max(0, holdEnd - Date.now())));
      }
      await sample();
      const lag = await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
      const hold = await load.report();
      const conns = handle.apiPorts.map((p) => establishedOn(p));
      const gc = await Promise.all(pids.map((pid) => probe(probeDir, pid, 'gc')));
      const nginxKb = childrenOf(nginxPid).reduce((a, p) => a + rssKb(p), rssKb(nginxPid));
      const info = await redis.info('memory');
      const kbPerConn = gc.map((g, i) => +((g.after.rss - base[i].after.rss) / 1024 / Math.max(1, conns[i])).toFixed(2));
      const heapPerConn = gc.map((g, i) => +((g.after.heapUsed - base[i].after.heapUsed) / 1024 / Math.max(1, conns[i])).toFixed(2));
      rows.push({
        kind,
        part: 'hold',
        seconds: o.holdS,
        ready: hold.ready,
        dropped: hold.disconnects,
        disconnectReasons: hold.disconnectReasons,
        connsPerProcess: conns,
        rssMbPerProcess: gc.map((g) => Math.round(g.before.rss / 1048576)),
        peakRssMbPerProcess: rssPeak.map((k) => Math.round(k / 1024)),
        kbPerConnAfterGc: kbPerConn,
        kbPerConnAfterGcAll: +((gc.reduce((a, g, i) => a + g.after.rss - base[i].after.rss, 0) / 1024) / Math.max(1, conns.reduce((a, c) => a + c, 0))).toFixed(2),
        heapKbPerConnAfterGc: heapPerConn,
        // What each process's RSS per connection is made of (rss-breakdown.js): JS heap, V8's unused pages, malloc.
        memoryKbPerConn: gc.map((g, i) => perSocketMemory(base[i].after, g.after, conns[i])),
        nginxKbPerConn: +((nginxKb - nginxBaseKb) / Math.max(1, hold.ready)).toFixed(2),
        lagP50ms: lag.map((l) => l.lagP50),
        lagP99ms: lag.map((l) => l.lagP99),
        lagMaxMs: lag.map((l) => l.lagMax),
        apiCpu: lag.map((l) => l.cpu),
        redisUsedMb: +(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 1048576).toFixed(1),
        redisPeakMb: +(redisPeak.used / 1048576).toFixed(1),
        clientRssMb: hold.clientRssMb,
        load: loadAvg(),
      });
      log(JSON.stringify(rows[rows.length - 1]));
    }

    // ---- traffic, once per rate
    if (o.parts.includes('traffic')) {
      const pub = await publisherFor(kind, env);
      const redisPid = listenerPid(Number(new URL(env.REDIS_URL).port));
      try {
        for (const rate of o.rates) {
          await load.ask({ cmd: 'mark' }, 'marked');
          await load.ask({ cmd: 'traffic', total: rate * o.trafficS, rooms: fixtures.projects.length }, 'trafficOn');
          await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
          const cpu0 = { nginx: cpuSecondsOf(nginxTree(nginxPid)), redis: redisPid ? cpuSecondsOf([redisPid]) : 0, machine: machineCpu() };
          if (o.trafficProf) await Promise.all(pids.map((pid) => probe(probeDir, pid, 'profile-start')));
          const run = startPublishing(pub, fixtures.projects, rate, rate * o.trafficS);
          const sent = await run.done;
          const drainS = await load.drain(sent.sent * o.roomSize);
          const profiles = o.trafficProf ? await trafficProfiles(o.trafficProf, probeDir, pids, `${kind}-traffic-${rate}`) : undefined;
          const lag = await Promise.all(pids.map((pid) => probe(probeDir, pid, 'lag')));
          const m1 = machineCpu();
          const r = await load.report(true, sent.sent, sent.failedSeqs);
          const delivered = Math.max(1, r.traffic?.delivered ?? 0);
          const usPer = (cpuS) => +((cpuS * 1e6) / delivered).toFixed(1);
          rows.push({
            kind,
            part: o.rates.length === 1 ? 'traffic' : `traffic-${rate}`,
            rate,
            seconds: o.trafficS,
            sent: sent.sent,
            publishFailed: sent.failed,
            publishS: +sent.seconds.toFixed(1),
            drainS: +drainS.toFixed(1),
            clientCpuUsPerDelivery: usPer(r.clientCpuS),
            ...r.traffic,
            p50ms: r.latency.p50,
            p99ms: r.latency.p99,
            maxMs: r.latency.max,
            latencyBy5sOfSendTime: r.latencyWindows,
            ...(profiles ? { apiProfilePerDelivery: perDelivery(profiles, delivered) } : {}),
            clientLagP99ms: r.clientLagP99ms,
            clientLagMaxMs: r.clientLagMaxMs,
            clientGcMaxMs: r.clientGcMaxMs,
            clientGcS: r.clientGcS,
            dropped: r.disconnects,
            apiCpuUsPerDelivery: usPer(lag.reduce((a, l) => a + l.cpu * l.seconds, 0)),
            // The rest of the machine per delivery over the same publishing and drain.
            nginxCpuUsPerDelivery: usPer(cpuSecondsOf(nginxTree(nginxPid)) - cpu0.nginx),
            redisCpuUsPerDelivery: redisPid ? usPer(cpuSecondsOf([redisPid]) - cpu0.redis) : undefined,
            machineBusyCores: busyCores(cpu0.machine, m1),
            lagP99ms: lag.map((l) => l.lagP99),
            lagMaxMs: lag.map((l) => l.lagMax),
            apiCpu: lag.map((l) => l.cpu),
            load: loadAvg(),
          });
          log(JSON.stringify(rows[rows.length - 1]));
        }
      } finally {
        await pub.close();
      }
    }

    // ---- storm: one process killed, then a rolling restart of all
    if (o.parts.includes('storm')) {
      const pub = await publisherFor(kind, env);
      try {
        const kills = Array.from({ length: Math.min(o.kills, handle.apiPorts.length) }, (_, i) => ({ name: 'kill -9', key: 'kill', ports: [handle.apiPorts[i]] }));
        const steps = [...kills, { name: 'rolling restart', key: 'rolling', ports: handle.apiPorts }].filter((st) => o.stormSteps.includes(st.key));
        for (const step of steps) {
          await load.ask({ cmd: 'mark' }, 'marked');
          await load.ask({ cmd: 'traffic', total: 0, rooms: fixtures.projects.length }, 'trafficOn');
          const run = o.stormRate > 0 ? startPublishing(pub, fixtures.projects, o.stormRate) : null;
          const readyBefore = (await load.status()).ready;
          const ts = now();
          let seriesFrom = ts;
          const perStep = [];
          const before = [...pids];
          for (const p of step.ports) {
            const program = handle.apiProgram(p);
            const onIt = establishedOn(p);
            const watch = step.name === 'kill -9' ? watchStorm({ handle, load, ports: [p], nginxPid, redisPid: listenerPid(Number(new URL(env.REDIS_URL).port)), probeDir, profDir: o.stormProf, kind }) : null;
            let t = now();
            if (watch) {
              process.kill(await watch.begin(), 'SIGKILL');
              // From the kill itself: begin() asks supervisord for every pid first (slow on a busy machine).
              t = now();
              seriesFrom = t;
              watch.afterKill();
            } else {
              await handle.ctl(['restart', program], 120000);
            }
            // The killed process's clients notice at once (nginx closes their connections): wait for that first.
            await waitFor('the clients to notice', async () => (await load.status()).ready < readyBefore, 5000, 100).catch(() => undefined);
            await waitFor(`${kind} ${step.name} :${p}: every client back`, async () => (await load.status()).ready >= readyBefore, o.stormTimeoutS * 1000, 500).catch((e) => log(e.message));
            const back = (now() - t) / 1000;
            await waitFor(`${program} running again`, async () => (await handle.pidOf(program)) > 0, 60000, 500);
            await waitLive([p]);
            const watched = watch ? await watch.end(onIt, back) : {};
            perStep.push({ port: p, socketsOnIt: onIt, allBackS: +back.toFixed(1), ...watched });
            log(`${kind}: ${step.name} :${p} (${onIt} sockets): all back after ${back.toFixed(1)} s`);
          }
          const stepS = (now() - ts) / 1000;
          const sent = run ? await run.stop() : { sent: 0, failed: 0, failedSeqs: [] };
          await load.drain(sent.sent * o.roomSize);
          pids = await apiPids(handle);
          await waitFor('probes', () => pids.every((pid) => fs.existsSync(path.join(probeDir, `${pid}.sock`))), 30000).catch(() => undefined);
          // Missing at the end of the drain may still be on its way (a saturated process): count again
          // LATE_RECHECK_S later, and report what arrived meanwhile apart from what never did.
          let r = await load.report(false, sent.sent, sent.failedSeqs);
          const missingAtDrain = r.traffic?.missing ?? 0;
          if (missingAtDrain > 0) await sleep(LATE_RECHECK_S * 1000);
          r = await load.report(true, sent.sent, sent.failedSeqs);
          const st = await load.status();
          // Which api processes ended other than by the step itself (a crash under the storm)?
          const expectedGone = step.name === 'kill -9' ? [before[handle.apiPorts.indexOf(step.ports[0])]] : before;
          const crashed = before.filter((pid) => !expectedGone.includes(pid) && !pidAlive(pid)).length;
          let metrics = {};
          if (kind === 'ours') metrics = await ourMetrics(handle);
          rows.push({
            kind,
            part: step.name === 'kill -9' ? 'storm-kill' : 'storm-rolling',
            steps: perStep,
            totalS: +stepS.toFixed(1),
            ready: st.ready,
            disconnects: r.disconnects,
            recoveredTrue: r.recoveredTrue,
            recoveredFalse: r.recoveredFalse,
            backP50ms: r.backP50,
            backP99ms: r.backP99,
            backMaxMs: r.backMax,
            peakBackPerS: r.peakBackPerS,
            // Second by second from the first step: [sockets back, connect errors] (what the admission did over time).
            backRefusedPerS: perSecondSeries(r.backPerSecond, r.refusedPerSecond, seriesFrom),
            refused: r.connectErrors,
            subscribeErrors: r.subscribeErrors,
            crashed,
            published: sent.sent,
            publishFailed: sent.failed,
            ...(r.traffic
              ? { expected: r.traffic.expected, delivered: r.traffic.delivered, missingTold: r.traffic.missingTold, silentlyMissing: r.traffic.missing, owedToDisconnected: r.traffic.owedToDisconnected, socketsDisconnectedOwed: r.traffic.socketsDisconnectedOwed, missingAtDrain, arrivedAfterDrain: missingAtDrain - r.traffic.missing, duplicates: r.traffic.duplicates, missingExamples: r.traffic.examples }
              : {}),
            p99ms: r.latency.p99,
            clientLagMaxMs: r.clientLagMaxMs,
            clientGcMaxMs: r.clientGcMaxMs,
            ...metrics,
            load: loadAvg(),
          });
          log(JSON.stringify(rows[rows.length - 1]));
        }
      } finally {
        await pub.close();
      }
    }
  } finally {
    if (load) await load.close();
    await redis.quit().catch(() => undefined);
    await handle.stop();
    running.handle = null;
    running.load = null;
    fs.rmSync(probeDir, { recursive: true, force: true });
    // nginx's graceful stop waits for open WebSocket connections: whatever is left of it goes now.
    const nginx = nginxPid ? [nginxPid, ...childrenOf(nginxPid)] : [];
    for (const pid of nginx.filter(pidAlive)) process.kill(pid, 'SIGKILL');
    const left = [...started, handle.child.pid, ...nginx].filter(pidAlive);
    if (left.length) log(`${kind}: still running after stop: ${left.join(', ')}`);
    log(`${kind}: stopped; ss -s: ${spawnSync('ss', ['-s'], { encoding: 'utf8' }).stdout.split('\n').find((l) => l.startsWith('TCP:')) ?? ''}`);
  }
  return rows;
}

/** Shedding and admission counters of our api processes (/metrics on each port). */
async function ourMetrics(handle) {
  const sums = {};
  /** @type {Record<string, Record<string, number>>} handshakes admitted / refused by each process (the restarted one since its start) */
  const handshakesPerPort = {};
  for (const p of handle.apiPorts) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${p}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      for (const line of text.split('\n')) {
        const m = /^(realtime_shed_total|socket_handshakes_total|realtime_channel_gaps_total)(\{[^}]*\})? ([0-9.e+]+)$/.exec(line);
        if (m) sums[`${m[1]}${m[2] ?? ''}`] = (sums[`${m[1]}${m[2] ?? ''}`] ?? 0) + Number(m[3]);
        const h = /^socket_handshakes_total\{result="(\w+)"\} ([0-9.e+]+)$/.exec(line);
        if (h) (handshakesPerPort[p] ??= {})[h[1]] = Number(h[2]);
      }
    } catch {
      // that process is restarting: its counters are not added
    }
  }
  return Object.keys(sums).length ? { metrics: sums, handshakesPerPort } : {};
}

/* ------------------------------------------------------------------ output */

function table(rows) {
  const get = (kind, part) => rows.find((r) => r.kind === kind && r.part === part);
  const lines = [];
  const add = (what, part, key, fmt = (v) => v, better = 'lower') => {
    const o = get('ours', part);
    const s = get('stock', part);
    const ov = o?.[key];
    const sv = s?.[key];
    const num = (v) => (Array.isArray(v) ? Math.max(...v) : Number(v));
    const ratio = o && s && Number.isFinite(num(ov)) && Number.isFinite(num(sv)) && num(sv) !== 0 ? (num(ov) / num(sv)).toFixed(2) : '';
    lines.push({ what, ours: o ? fmt(ov) : '-', stock: s ? fmt(sv) : '-', 'ours/stock': ratio, better });
  };
  const j = (v) => (v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : v);
  add('sockets connected', 'connect', 'connected', j, 'higher');
  add('connect rate /s', 'connect', 'perS', j, 'higher');
  add('api CPU ms per socket set up', 'connect', 'apiCpuMsPerSocket', j);
  add('nginx CPU ms per socket set up', 'connect', 'nginxCpuMsPerSocket', j);
  add('refused while connecting', 'connect', 'connectErrors', j);
  add('dropped during hold', 'hold', 'dropped', j);
  add('connections per api process', 'hold', 'connsPerProcess', j);
  add('KB per connection after GC (all processes)', 'hold', 'kbPerConnAfterGcAll', j);
  add('KB per connection after GC, per process', 'hold', 'kbPerConnAfterGc', j);
  add('nginx KB per socket', 'hold', 'nginxKbPerConn', j);
  add('event-loop lag p99 ms (hold), per process', 'hold', 'lagP99ms', j);
  add('event-loop lag max ms (hold), per process', 'hold', 'lagMaxMs', j);
  add('Redis used MB (hold)', 'hold', 'redisUsedMb', j);
  for (const part of [...new Set(rows.map((r) => r.part).filter((p) => p.startsWith('traffic')))]) {
    add(`${part}: expected deliveries`, part, 'expected', j, 'higher');
    add(`${part}: delivered`, part, 'delivered', j, 'higher');
    add(`${part}: missing (silent)`, part, 'missing', j);
    add(`${part}: owed to sockets still reconnecting`, part, 'owedToDisconnected', j);
    add(`${part}: delivery p50 ms`, part, 'p50ms', j);
    add(`${part}: delivery p99 ms`, part, 'p99ms', j);
    add(`${part}: delivery max ms`, part, 'maxMs', j);
    add(`${part}: event-loop lag p99 ms`, part, 'lagP99ms', j);
    add(`${part}: CPU µs per delivery, api`, part, 'apiCpuUsPerDelivery', j);
    add(`${part}: CPU µs per delivery, nginx`, part, 'nginxCpuUsPerDelivery', j);
    add(`${part}: CPU µs per delivery, load processes`, part, 'clientCpuUsPerDelivery', j);
    add(`${part}: load processes' own event-loop delay max ms`, part, 'clientLagMaxMs', (v) => (v === undefined ? '-' : JSON.stringify(v)));
    add(`${part}: load processes' longest GC pause ms`, part, 'clientGcMaxMs', j);
    add(`${part}: machine cores busy`, part, 'machineBusyCores', j);
  }
  // --kills=N: one kill row per kill; the rows below are the first kill's, this one lists every kill's.
  const killsBack = (kind) => rows.filter((r) => r.kind === kind && r.part === 'storm-kill').map((r) => r.steps[0]?.allBackS);
  if (rows.some((r) => r.part === 'storm-kill')) {
    const [o, s] = [killsBack('ours'), killsBack('stock')];
    lines.push({ what: 'storm-kill: s from each kill until all back', ours: o.length ? JSON.stringify(o) : '-', stock: s.length ? JSON.stringify(s) : '-', 'ours/stock': '', better: 'lower' });
  }
  for (const part of ['storm-kill', 'storm-rolling']) {
    add(`${part}: total s until all back`, part, 'totalS', j);
    add(`${part}: back p99 ms`, part, 'backP99ms', j);
    add(`${part}: recovered true / false`, part, 'recoveredTrue', (v) => v, 'higher');
    add(`${part}: told recovered:false`, part, 'recoveredFalse', j);
    add(`${part}: peak sockets back /s`, part, 'peakBackPerS', j, 'higher');
    add(`${part}: refused (by reason)`, part, 'refused', j);
    add(`${part}: silently missing events`, part, 'silentlyMissing', j);
    add(`${part}: events owed to sockets still reconnecting at the end`, part, 'owedToDisconnected', j);
    add(`${part}: crashed processes`, part, 'crashed', j);
  }
  return lines;
}

/** Stops the traffic part's profiles (probe.js) and returns them, written to `dir` as `<name>-<pid>.cpuprofile`. */
async function trafficProfiles(dir, probeDir, pids, name) {
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const pid of pids) {
    const file = path.join(dir, `${name}-${pid}.cpuprofile`);
    await probe(probeDir, pid, `profile-stop ${file}`, 120000)
      .then(() => out.push(JSON.parse(fs.readFileSync(file, 'utf8'))))
      .catch((e) => log(`profile-stop ${pid}: ${e.message}`));
  }
  return out;
}

/** Every process's profile summed: busy µs per delivery and the 15 largest areas (package or our file), self time. */
function perDelivery(profiles, delivered) {
  const areas = new Map();
  let busy = 0;
  for (const p of profiles) {
    // summarize() per 1 unit gives µs; its area list is its top 20, enough for the top 15 of the sum.
    const s = summarize(p, 1);
    busy += s.busyUsPerSocket;
    for (const a of s.areas) areas.set(a.what, (areas.get(a.what) ?? 0) + a.usPerSocket);
  }
  return {
    busyUs: +(busy / delivered).toFixed(1),
    areas: [...areas.entries()].sort((x, y) => y[1] - x[1]).slice(0, 15).map(([what, us]) => [what, +(us / delivered).toFixed(2)]),
  };
}

/* ------------------------------------------------------------------ main */

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!onRequiredNode(__filename)) return;
  // supervisord (minfds), nginx (worker_rlimit_nofile) and the load processes inherit it; when it cannot be raised,
  // every process stays within the limit it has (more api, nginx and load processes instead: checkFits).
  if (relaunchWithNofile(neededNofile(o.sockets), __filename, log)) return;
  checkFits(o);
  const env = await freshStack(o.stack, log);
  const { makeFixtures, cleanup } = require('./fixtures');
  const fixtures = await makeFixtures(env, { users: o.sockets, roomSize: o.roomSize, tag: `scale${Date.now().toString(36)}`, log });
  const date = new Date().toISOString();
  log(`${o.sockets} sockets, ${o.instances} api processes, ${o.loadProcs} load processes, ${os.cpus().length} cores, load ${loadAvg()}`);
  const rows = [];
  try {
    for (const kind of o.kinds) {
      const r = await runKind(kind, o, env, fixtures);
      rows.push(...r);
      for (const row of r) process.stdout.write(`${JSON.stringify({ bench: 'scale', date, sockets: o.sockets, instances: o.instances, direct: o.direct, ...row })}\n`);
    }
  } finally {
    await cleanup(env, log).catch((e) => log(`cleanup: ${e.message}`));
  }
  console.log(`\nbench:scale ${date}: ${o.sockets} sockets, ${o.instances} api processes ${o.direct ? '(direct, no nginx)' : 'behind nginx'}, rooms of ${o.roomSize}, hold ${o.holdS} s, ${o.rates.join(' / ')} msg/s for ${o.trafficS} s, load ${loadAvg()}`);
  console.table(table(rows));
  process.exit(0);
}

main().catch((err) => {
  log(err.stack ?? err.message);
  // supervisord's output comes to this process: it must be stopped before this process goes.
  for (const c of running.load?.children ?? []) c.kill('SIGKILL');
  void Promise.resolve(running.handle?.stop(30000))
    .catch(() => undefined)
    .finally(() => process.exit(1));
});
process.on('uncaughtException', (err) => {
  log(`uncaught: ${err.stack ?? err.message}`);
  for (const c of running.load?.children ?? []) c.kill('SIGKILL');
  void Promise.resolve(running.handle?.stop(30000))
    .catch(() => undefined)
    .finally(() => process.exit(1));
});
