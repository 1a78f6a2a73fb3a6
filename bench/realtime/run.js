// Realtime benchmark: ours (node dist/main.js, all features on) beside a stock Socket.IO server with
// the Redis pub/sub adapter, both started here against the same Redis. Loopback only, bounded in time.
//
//   node bench/realtime/run.js [--part=a,b,c] [--conns=10000,20000] [--receivers=100] [--rates=200,1000]
//                              [--seconds=5] [--overload-receivers=1000] [--overload-rate=1000] [--stack=bench]
//                              [--kinds=stock,ours] [--ours-env='WS_COMPRESSION_THRESHOLD_BYTES=0']
//                              [--idle=15] [--verbose] [--ours-main=OTHER_WORKTREE/dist/main.js]
//                              [--procs=2] [--slow=0] [--pubsub-limit='4mb 1mb 2'] [--kill-subscribers-at=2.5,4.9]
//                              (part c options, see overload.js)
//
// (a) RSS per connection held by one process; (b) cross-process fan-out latency p50/p99 and
// delivered/expected (2 processes, receivers split across them, a worker-style publisher that has no
// Socket.IO server); (c) overload: crash? loss? shedding counted? (receivers in --procs child
// processes so that the servers are the bottleneck). Prints a table and ratios.
const { fork, spawn } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');
const { performance } = require('node:perf_hooks');

const root = join(__dirname, '..', '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const s = a.replace(/^--/, ''); const i = s.indexOf('='); return i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]; }));
const list = (v, d) => (v ? String(v).split(',').map(Number) : d);
const PARTS = (args.part || 'a,b,c').split(',');
// Lowered to what the open-file limit holds when it cannot be raised (see the end of this file).
let CONNS = list(args.conns, [10000, 20000]);
const RECEIVERS = Number(args.receivers || 100);
const RATES = list(args.rates, [200, 1000]);
const SECONDS = Number(args.seconds || 5);
// (a) also reads RSS after both servers sat idle this long after the 3 s reading, then after the same
// explicit GC request (mem-probe.js, preloaded into both servers); --idle=0 skips the idle reading.
const IDLE_S = Number(args.idle ?? 15);
const PROBE = ['-r', join(__dirname, 'mem-probe.js')];
// Another build of ours against the same stack and bench, e.g. a before/after comparison:
// --ours-main=/path/to/other/worktree/dist/main.js (run from that worktree's root).
const OURS_MAIN = args['ours-main'] || join(root, 'dist', 'main.js');
// Extra environment for our processes, e.g. --ours-env=WS_COMPRESSION_THRESHOLD_BYTES=0
const OURS_ENV = Object.fromEntries((args['ours-env'] ? args['ours-env'].split(';') : []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const { io } = require(join(root, 'node_modules', 'socket.io-client'));
const Redis = require(join(root, 'node_modules', 'ioredis'));
// @socket.io/redis-emitter (stock's worker-style publisher, part b) is not a dependency any more:
// loaded where part b needs it, so part a runs without it.
const loadEmitter = () => require(join(root, 'node_modules', '@socket.io', 'redis-emitter')).Emitter;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

function procStat(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpuTicks = Number(stat[11]) + Number(stat[12]);
  return { rssKb, cpuMs: (cpuTicks * 1000) / 100 };
}

async function freePort() {
  const net = require('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

async function startOurs(env) {
  const port = await freePort();
  const probeFile = join(tmpdir(), `rt-mem-probe-${process.pid}-${port}.json`);
  const child = spawn(process.execPath, [...PROBE, OURS_MAIN], {
    cwd: join(dirname(OURS_MAIN), '..'),
    env: { ...process.env, ...env, MEM_PROBE_FILE: probeFile, PORT: String(port), LOG_LEVEL: 'error', MAX_CONCURRENT_CONNECTIONS: '60000', MAX_CONNECTIONS_PER_IP: '60000', ...OURS_ENV },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // A loaded machine (other suites running) can take well over 30 s to boot the api; a server that
  // never came up is not left running behind the bench.
  await waitHttp(`http://127.0.0.1:${port}/livez`, 120000).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { kind: 'ours', port, child, probeFile, url: `http://127.0.0.1:${port}` };
}

async function startStock(env) {
  const port = await freePort();
  const probeFile = join(tmpdir(), `rt-mem-probe-${process.pid}-${port}.json`);
  const child = fork(join(__dirname, 'stock-server.js'), [], { cwd: root, execArgv: PROBE, env: { ...process.env, ...env, MEM_PROBE_FILE: probeFile, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  return { kind: 'stock', port, child, probeFile, url: `http://127.0.0.1:${port}` };
}

/** The same explicit GC request for either server (mem-probe.js); memory before and after it. */
async function gcProbe(server) {
  rmSync(server.probeFile, { force: true });
  server.child.kill('SIGUSR2');
  const end = Date.now() + 30000;
  while (!existsSync(server.probeFile)) {
    if (Date.now() > end) throw new Error(`${server.kind}: no answer to the GC request`);
    await sleep(100);
  }
  const r = JSON.parse(readFileSync(server.probeFile, 'utf8'));
  rmSync(server.probeFile, { force: true });
  return r;
}

async function stop(server) {
  if (server.child.exitCode !== null || server.child.signalCode) return;
  server.child.kill('SIGTERM');
  const t = setTimeout(() => server.child.kill('SIGKILL'), 10000);
  await new Promise((r) => server.child.once('exit', r));
  clearTimeout(t);
}

async function tokenFor(url) {
  const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
  const r = await fetch(`${url}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'password-123', name: 'bench' }) });
  const body = await r.json();
  const cookie = r.headers.getSetCookie()[0].split(';')[0];
  const t = await (await fetch(`${url}/api/auth/token`, { method: 'POST', headers: { cookie } })).json();
  return { token: t.token, userId: body.id };
}

/** Opens n sockets with bounded concurrency; resolves with the sockets once all are connected. */
async function openMany(url, n, opts, onEvent) {
  const sockets = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const s = io(`${url}/realtime`, { transports: ['websocket'], forceNew: true, reconnection: opts.reconnection ?? false, reconnectionDelay: 500, auth: opts.token ? { token: opts.token } : {} });
      if (onEvent) onEvent(s);
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('connect timeout')), 30000);
        s.once(opts.token ? 'connected' : 'connect', () => (clearTimeout(t), resolve()));
        s.once('connect_error', (e) => (clearTimeout(t), reject(e)));
      });
      sockets.push(s);
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  return sockets;
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// ---------- (a) connections and RSS ----------
async function partA(env, rows) {
  for (const kind of (args.kinds || 'stock,ours').split(',')) {
    for (const n of CONNS) {
      const server = kind === 'ours' ? await startOurs(env) : await startStock(env);
      const auth = kind === 'ours' ? await tokenFor(server.url) : {};
      await sleep(2000);
      const before = procStat(server.child.pid);
      // Baseline for the after-GC figure: the same GC request, before any socket.
      const base = (await gcProbe(server)).after;
      const started = Date.now();
      let sockets = [];
      let error = null;
      try {
        sockets = await openMany(server.url, n, { token: auth.token });
      } catch (e) {
        error = e.message;
      }
      const connectS = (Date.now() - started) / 1000;
      await sleep(3000);
      const after = procStat(server.child.pid);
      const count = Math.max(1, sockets.length);
      const perConnKb = (after.rssKb - before.rssKb) / count;
      let idleKb = null;
      if (IDLE_S > 0) {
        await sleep(IDLE_S * 1000);
        idleKb = (procStat(server.child.pid).rssKb - before.rssKb) / count;
      }
      const gc = await gcProbe(server);
      if (args.verbose) console.log(JSON.stringify({ server: kind, n, before, base, gc }));
      const per = (key) => +((gc.after[key] - base[key]) / 1024 / count).toFixed(2);
      rows.push({
        part: 'a',
        server: kind,
        connections: sockets.length,
        target: n,
        rssMb: +(after.rssKb / 1024).toFixed(1),
        kbPerConn: +perConnKb.toFixed(2),
        kbIdle: idleKb === null ? null : +idleKb.toFixed(2),
        kbAfterGc: per('rss'),
        heapKbAfterGc: per('heapUsed'),
        externalKbAfterGc: per('external'),
        heapUsedKbBeforeGc: +((gc.before.heapUsed - base.heapUsed) / 1024 / count).toFixed(2),
        connectS: +connectS.toFixed(1),
        error,
      });
      console.log(JSON.stringify(rows[rows.length - 1]));
      for (const s of sockets) s.disconnect();
      await sleep(500);
      await stop(server);
    }
  }
}

// ---------- (b)/(c) fan-out ----------
async function fanout(kind, env, receivers, rate, seconds, overload) {
  const servers = kind === 'ours' ? [await startOurs(env), await startOurs(env)] : [await startStock(env), await startStock(env)];
  const auth = kind === 'ours' ? await tokenFor(servers[0].url) : {};
  const latencies = [];
  const perReceiver = [];
  let delivered = 0;
  let lastDeliveryAt = 0;
  let toldToRefetch = 0;
  const onEvent = (s) => {
    const rec = { ids: new Set(), refetch: false };
    perReceiver.push(rec);
    s.on('connected', (c) => {
      if (c && c.recovered === false && rec.ids.size) {
        rec.refetch = true;
        toldToRefetch++;
      }
    });
    s.on('bench', (p) => {
      delivered++;
      lastDeliveryAt = now();
      latencies.push(now() - p.t);
      rec.ids.add(p.seq);
    });
  };
  const half = Math.ceil(receivers / 2);
  const sockets = [
    ...(await openMany(servers[0].url, half, { token: auth.token, reconnection: overload }, onEvent)),
    ...(await openMany(servers[1].url, receivers - half, { token: auth.token, reconnection: overload }, onEvent)),
  ];
  await sleep(1000);
  const redis = new Redis(env.REDIS_URL);
  let publish;
  if (kind === 'ours') {
    const { EventLog } = require(join(root, 'dist', 'core', 'realtime', 'event-log.js'));
    const { RedisRealtimeService } = require(join(root, 'dist', 'core', 'realtime', 'redis-realtime.service.js'));
    const svc = new RedisRealtimeService(new EventLog(redis, { prefix: env.REDIS_PREFIX || 'sb:', historyPerRoom: 1000, historyTtlMs: 600000 }));
    // 'bench' is not a known prefix, so it goes to /realtime like job:* events.
    publish = (seq) => svc.toUser(auth.userId, 'bench', { seq, t: now() });
  } else {
    const Emitter = loadEmitter();
    const emitter = new Emitter(redis, { key: 'bench-stock' }).of('/realtime');
    publish = async (seq) => emitter.to('bench').emit('bench', { seq, t: now() });
  }
  const cpuBefore = servers.map((s) => procStat(s.child.pid).cpuMs);
  const clientCpuBefore = process.cpuUsage();
  const total = rate * seconds;
  const started = now();
  let sent = 0;
  const inflight = [];
  while (sent < total) {
    const due = Math.floor(((now() - started) / 1000) * rate);
    while (sent < Math.min(due, total)) inflight.push(publish(++sent).catch(() => undefined));
    await sleep(1);
  }
  await Promise.all(inflight);
  const sendS = (now() - started) / 1000;
  const expected = total * receivers;
  // Drain: until everything arrived, or nothing new arrived for 5 s, bounded at 60 s.
  const drainUntil = Date.now() + 60000;
  let lastCount = -1;
  let stableSince = Date.now();
  while (delivered < expected && Date.now() < drainUntil && Date.now() - stableSince < 5000) {
    await sleep(200);
    if (delivered !== lastCount) {
      lastCount = delivered;
      stableSince = Date.now();
    }
  }
  const elapsed = (now() - started) / 1000;
  // Until the last delivery, not until the drain loop noticed it (it polls every 200 ms).
  const deliveringS = ((lastDeliveryAt || now()) - started) / 1000;
  const cpu = servers.map((s, i) => (procStat(s.child.pid).cpuMs - cpuBefore[i]) / 1000 / elapsed);
  const clientUsage = process.cpuUsage(clientCpuBefore);
  const clientCpu = (clientUsage.user + clientUsage.system) / 1e6 / elapsed;
  const alive = servers.every((s) => s.child.exitCode === null && !s.child.signalCode);
  let shed = 0;
  let gapsFilled = 0;
  if (kind === 'ours') {
    for (const s of servers) {
      try {
        const m = await (await fetch(`${s.url}/metrics`)).text();
        for (const line of m.split('\n')) {
          if (line.startsWith('realtime_shed_total')) shed += Number(line.split(' ').pop());
          if (line.startsWith('realtime_channel_gaps_total{result="filled"}')) gapsFilled += Number(line.split(' ').pop());
        }
      } catch {
        // the process may be gone by now; its counters are simply not added
      }
    }
  }
  // Silent loss: a receiver missing events although it was never told to refetch.
  // Split into holes (an id missing below the highest id that receiver got: lost) and a tail not yet
  // arrived when the drain stopped (late, or lost: the bench cannot tell).
  let silentlyMissing = 0;
  let holes = 0;
  for (const r of perReceiver) {
    if (r.refetch) continue;
    silentlyMissing += total - r.ids.size;
    let max = 0;
    for (const id of r.ids) if (id > max) max = id;
    holes += max - r.ids.size;
  }
  latencies.sort((x, y) => x - y);
  const row = {
    part: overload ? 'c' : 'b',
    server: kind,
    receivers,
    rate,
    sent: total,
    sendS: +sendS.toFixed(1),
    expected,
    delivered,
    ratio: +(delivered / expected).toFixed(4),
    deliveriesPerS: Math.round(delivered / deliveringS),
    p50ms: +pct(latencies, 50).toFixed(1),
    p99ms: +pct(latencies, 99).toFixed(1),
    serverCpu: cpu.map((c) => +c.toFixed(2)),
    clientCpu: +clientCpu.toFixed(2),
    alive,
    shed,
    gapsFilled,
    toldToRefetch,
    silentlyMissing,
    holes,
  };
  console.log(JSON.stringify(row));
  for (const s of sockets) s.disconnect();
  await redis.quit();
  await sleep(500);
  for (const s of servers) await stop(s);
  return row;
}

async function main() {
  const { services, migrate } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(args.stack || process.env.SWITCHBOARD_TEST_STACK || 'bench');
  migrate(env);
  const fullEnv = { ...env, NODE_ENV: 'production', SESSION_SECRET: 'bench-session-secret-0123456789abcdef', JWT_SECRET: 'bench-jwt-secret-0123456789abcdef0123' };
  Object.assign(process.env, env);
  const rows = [];
  if (PARTS.includes('a')) await partA(fullEnv, rows);
  if (PARTS.includes('b')) for (const rate of RATES) for (const kind of (args.kinds || 'stock,ours').split(',')) rows.push(await fanout(kind, fullEnv, RECEIVERS, rate, SECONDS, false));
  // (c) is server-bound: receivers in child processes (overload.js, receivers.js).
  const over = { args, root, sleep, now, procStat, startOurs, startStock, stop, tokenFor };
  if (PARTS.includes('c')) for (const kind of (args.kinds || 'stock,ours').split(',')) rows.push(await require('./overload')(kind, fullEnv, over));
  console.log('\nresults');
  console.table(rows);
  const find = (part, server, key, val) => rows.find((r) => r.part === part && r.server === server && (!key || r[key] === val));
  console.log('\nratios (ours / stock)');
  for (const n of CONNS) {
    const o = find('a', 'ours', 'target', n);
    const s = find('a', 'stock', 'target', n);
    if (!o || !s) continue;
    console.log(`RSS per connection at ${n}, 3 s after the last connect: ${(o.kbPerConn / s.kbPerConn).toFixed(2)}x (${o.kbPerConn} KB vs ${s.kbPerConn} KB)`);
    if (o.kbIdle !== null && s.kbIdle !== null) console.log(`RSS per connection at ${n}, ${IDLE_S} s later (idle): ${(o.kbIdle / s.kbIdle).toFixed(2)}x (${o.kbIdle} KB vs ${s.kbIdle} KB)`);
    console.log(`RSS per connection at ${n}, after the same GC request: ${(o.kbAfterGc / s.kbAfterGc).toFixed(2)}x (${o.kbAfterGc} KB vs ${s.kbAfterGc} KB; JS heap ${o.heapKbAfterGc} vs ${s.heapKbAfterGc} KB)`);
  }
  for (const rate of RATES) {
    const o = find('b', 'ours', 'rate', rate);
    const s = find('b', 'stock', 'rate', rate);
    if (o && s) console.log(`${rate} msg/s: p99 ${(o.p99ms / s.p99ms).toFixed(2)}x (${o.p99ms} vs ${s.p99ms} ms), deliveries/s ${(o.deliveriesPerS / s.deliveriesPerS).toFixed(2)}x, delivered ${o.ratio} vs ${s.ratio}`);
  }
  process.exit(0);
}

// Part (a) holds each size's connections in this process (the clients) and in the server, one descriptor each.
const NOFILE = (PARTS.includes('a') ? Math.max(...CONNS) : 0) + 8192;
const nofile = require('../nofile');
const note = (m) => process.stderr.write(`[bench:realtime] ${m}\n`);
const relaunched = () => require(join(root, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename) || nofile.relaunchWithNofile(NOFILE, __filename, note);
/** A size part (a) cannot hold within the limit would fail at its end (EMFILE): run the largest that fits instead, and say so. */
function fitConns() {
  const fits = Math.floor((nofile.hardNofile() - 2048) / 1000) * 1000;
  if (!PARTS.includes('a') || CONNS.every((n) => n <= fits)) return;
  note(`part (a) at ${CONNS.filter((n) => n > fits).join(', ')} connections does not fit the open-file limit (${nofile.hardNofile()}): ${fits} instead`);
  CONNS = [...new Set(CONNS.map((n) => Math.min(n, fits)))];
}
if (!relaunched()) {
  fitConns();
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
