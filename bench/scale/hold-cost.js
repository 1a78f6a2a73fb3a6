#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * npm run bench:hold -- [--sockets=12500] [--kinds=ours,stock] [--base-root=OTHER_CHECKOUT]
 *                               [--rounds=6] [--window-s=25] [--idle-s=25] [--port=30460] [--stack=NAME]
 *                               [--cpu-prof[=DIR]] [--alloc-prof[=DIR]] [--concurrency=50] [--room-size=10]
 *
 * What holding idle sockets costs one api process (issue 18: at 100,000 sockets on 8 processes ours held
 * 12,500 each for 0.065–0.079 of a core against stock's 0.048–0.061, with a higher event-loop lag p99).
 * Every kind runs at the same time, each ONE api process (no nginx) with its own load process
 * (bench:scale's load.js, sockets from its own loopback addresses): ours (this checkout's dist/main.js),
 * `base` (another checkout's, --base-root, for before/after) and stock (Socket.IO 4.8 + redis-adapter).
 * First --idle-s with no socket (each process's own idle rate), then --sockets sockets each, then --rounds
 * windows of --window-s measured on every process at once (the same machine load for all kinds: an
 * interleaving finer than taking turns): CPU (user + system, all threads, /proc/<pid>/stat) as a share of a
 * core and in µs per socket per second (raw, and net of the idle rate), the event-loop delay p99/max (the
 * probe's histogram, reset each window), the bytes the JS heap allocated per second and GC time. The
 * default window is the ping interval (25 s), so every socket pings once per window.
 * --cpu-prof: one more window with V8's sampling profiler on in every process, printed by package and
 * function (bench:setup's summary; the profiler's cost inflates that window, so it is not in the rounds).
 * --alloc-prof: one more window with V8's sampling heap profiler on (one sample per 1 KB, collected objects
 * included): bytes allocated per socket per second by package, function and our innermost function.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const { sleep, probe, loadAvg, parseOptions, onRequiredNode, freshStack, printTables } = require('./common');
const { startServer, stopServer, startLoad, cpuSeconds, summarize, summarizeHeap, children } = require('./setup-cost');
const log = (m) => process.stderr.write(`[hold-cost ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

const KNOWN = ['sockets', 'kinds', 'base-root', 'rounds', 'window-s', 'idle-s', 'port', 'stack', 'cpu-prof', 'alloc-prof', 'concurrency', 'room-size'];

function parseArgs(argv) {
  const { a, num } = parseOptions(argv, KNOWN);
  const kinds = (a.kinds ?? (a['base-root'] ? 'ours,base,stock' : 'ours,stock')).split(',');
  for (const k of kinds) if (!['ours', 'base', 'stock'].includes(k)) throw new Error(`--kinds: ours, base and/or stock, not ${k}`);
  if (kinds.includes('base') && !a['base-root']) throw new Error('--kinds=base needs --base-root');
  const sockets = num('sockets', 12500, 10);
  if (sockets > 15000) throw new Error('--sockets: at most 15,000 (one api process and one load process per kind, each within the open-file limit)');
  return {
    sockets,
    kinds,
    baseRoot: a['base-root'] ? path.resolve(a['base-root']) : null,
    rounds: num('rounds', 6, 1),
    windowS: num('window-s', 25, 1),
    idleS: num('idle-s', 25, 1),
    port: num('port', 30460, 1024),
    stack: a.stack ?? process.env.SWITCHBOARD_TEST_STACK ?? 'bench-hold',
    cpuProf: a['cpu-prof'] === undefined ? null : a['cpu-prof'] === 'true' ? path.join(ROOT, '.stack', 'bench-hold-profiles') : path.resolve(a['cpu-prof']),
    allocProf: a['alloc-prof'] === undefined ? null : a['alloc-prof'] === 'true' ? path.join(ROOT, '.stack', 'bench-hold-profiles') : path.resolve(a['alloc-prof']),
    concurrency: num('concurrency', 50, 1),
    roomSize: num('room-size', 10, 1),
  };
}

/** Every process's CPU, delay histogram and allocations over one window, all at once. */
async function window(procs, seconds) {
  await Promise.all(procs.map(async (p) => {
    await probe(p.probeDir, p.pid, 'lag'); // resets the histogram
    await probe(p.probeDir, p.pid, 'alloc-start');
    p.cpu0 = cpuSeconds(p.pid);
    p.t0 = Date.now();
  }));
  await sleep(seconds * 1000);
  return Promise.all(procs.map(async (p) => {
    const cpu = cpuSeconds(p.pid) - p.cpu0;
    const s = (Date.now() - p.t0) / 1000;
    const lag = await probe(p.probeDir, p.pid, 'lag');
    const alloc = await probe(p.probeDir, p.pid, 'alloc-stop');
    return { kind: p.kind, seconds: s, core: cpu / s, lagP99: lag.lagP99, lagMax: lag.lagMax, allocMbS: alloc.bytes / 1048576 / s, gcMsS: alloc.gcUs / 1000 / s };
  }));
}

const median = (xs) => {
  const v = xs.slice().sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!onRequiredNode(__filename)) return;
  const env = await freshStack(o.stack, log);
  const { makeFixtures, cleanup } = require('./fixtures');
  // Users of their own per kind: ours and base share the cluster's Redis (slots, presence).
  const fixtures = await makeFixtures(env, { users: o.sockets * o.kinds.length, roomSize: o.roomSize, tag: `hold${Date.now().toString(36)}`, log });
  const date = new Date().toISOString();
  log(`${o.kinds.join(', ')}: ${o.sockets} sockets each, ${os.cpus().length} cores, load ${loadAvg()}`);
  /** @type {any[]} */
  const procs = [];
  try {
    for (const [i, kind] of o.kinds.entries()) {
      const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), `hold-probe-${kind}-`));
      const so = { sockets: o.sockets, oursRoot: kind === 'base' ? o.baseRoot : ROOT, serverFlags: [], serverEnv: {} };
      const server = await startServer(kind === 'stock' ? 'stock' : 'ours', so, env, o.port + i, probeDir);
      procs.push({ kind, server, pid: server.pid, probeDir, port: o.port + i, index: i });
    }
    await sleep(5000); // past the boot's own work
    log(`idle ${o.idleS} s, load ${loadAvg()}`);
    const idle = Object.fromEntries((await window(procs, o.idleS)).map((r) => [r.kind, r]));
    for (const p of procs) {
      const users = fixtures.users.slice(p.index * o.sockets, (p.index + 1) * o.sockets).map((u, j) => [u.id, u.project, Math.floor(j / o.roomSize)]);
      p.load = startLoad(p.kind === 'stock' ? 'stock' : 'ours', users, `http://127.0.0.1:${p.port}`, env.JWT_SECRET, o.concurrency, p.index);
      await p.load.init();
      const done = await p.load.ask({ cmd: 'connect' }, 'connectDone');
      p.connected = done.connected;
      log(`${p.kind}: ${done.connected} connected (${done.failed} failed) in ${done.seconds.toFixed(1)} s`);
    }
    await sleep(o.windowS * 1000); // the first pings after the connect burst, the burst's garbage
    const rounds = [];
    for (let r = 0; r < o.rounds; r++) {
      const rows = await window(procs, o.windowS);
      rounds.push(rows);
      log(`round ${r + 1}: ${rows.map((x) => `${x.kind} ${(x.core * 100).toFixed(2)} % lag p99 ${x.lagP99} ms alloc ${x.allocMbS.toFixed(2)} MB/s`).join(' | ')}, load ${loadAvg()}`);
    }
    const byKind = {};
    for (const p of procs) {
      const mine = rounds.map((rows) => rows.find((x) => x.kind === p.kind));
      const perSocket = (c) => +((c * 1e6) / p.connected).toFixed(2);
      byKind[p.kind] = {
        connected: p.connected,
        idleCore: +idle[p.kind].core.toFixed(4),
        core: mine.map((x) => +x.core.toFixed(4)),
        usPerSocketS: mine.map((x) => perSocket(x.core)),
        netUsPerSocketS: mine.map((x) => perSocket(x.core - idle[p.kind].core)),
        lagP99: mine.map((x) => x.lagP99),
        lagMax: mine.map((x) => x.lagMax),
        allocMbS: mine.map((x) => +x.allocMbS.toFixed(2)),
        gcMsS: mine.map((x) => +x.gcMsS.toFixed(2)),
      };
      process.stdout.write(`${JSON.stringify({ bench: 'hold-cost', date, kind: p.kind, sockets: o.sockets, windowS: o.windowS, ...byKind[p.kind] })}\n`);
    }
    if (o.cpuProf) {
      fs.mkdirSync(o.cpuProf, { recursive: true });
      await Promise.all(procs.map((p) => probe(p.probeDir, p.pid, 'profile-start')));
      await sleep(o.windowS * 1000);
      for (const p of procs) {
        const file = path.join(o.cpuProf, `${p.kind}-hold.cpuprofile`);
        await probe(p.probeDir, p.pid, `profile-stop ${file}`);
        const s = summarize(JSON.parse(fs.readFileSync(file, 'utf8')), p.connected * o.windowS);
        printTables(`${p.kind}: CPU profile of ${o.windowS} s held, ${file}: ${s.busyUsPerSocket} µs of samples per socket-second... (profiler on)`, [
          ['by package or file (self time; µs per socket per second)', s.areas],
          ['by function (self time)', s.self],
          ['our functions (inclusive)', s.oursInclusive],
        ]);
      }
    }
    if (o.allocProf) {
      fs.mkdirSync(o.allocProf, { recursive: true });
      await Promise.all(procs.map((p) => probe(p.probeDir, p.pid, 'heap-sample-start 1024')));
      await sleep(o.windowS * 1000);
      for (const p of procs) {
        const file = path.join(o.allocProf, `${p.kind}-hold.heapprofile`);
        await probe(p.probeDir, p.pid, `heap-sample-stop ${file}`);
        const h = summarizeHeap(JSON.parse(fs.readFileSync(file, 'utf8')), p.connected * o.windowS);
        printTables(`${p.kind}: allocations in ${o.windowS} s held, ${file}: ${h.bytesPerSocket} bytes sampled per socket-second`, [
          ['by package or file (self; bytes per socket per second)', h.areas],
          ['by function (self)', h.self.slice(0, 25)],
          ['by our innermost function on the stack', h.oursInnermost.slice(0, 20)],
        ]);
      }
    }
    const lines = [];
    const med = (k, f) => (byKind[k] ? +median(f(byKind[k])).toFixed(3) : '-');
    const row = (what, f) => lines.push(Object.fromEntries([['what', what], ...o.kinds.map((k) => [k, med(k, f)])]));
    row('api core while holding (median of rounds)', (b) => b.core);
    row('api CPU µs per socket per second (raw)', (b) => b.usPerSocketS);
    row('api CPU µs per socket per second (net of idle)', (b) => b.netUsPerSocketS);
    row('event-loop delay p99 ms', (b) => b.lagP99);
    row('JS heap allocated MB/s', (b) => b.allocMbS);
    row('GC ms/s', (b) => b.gcMsS);
    lines.push(Object.fromEntries([['what', 'api core idle, no socket'], ...o.kinds.map((k) => [k, byKind[k]?.idleCore ?? '-'])]));
    console.log(`\nhold-cost ${date}: ${o.sockets} idle sockets per api process, ${o.rounds} windows of ${o.windowS} s, load ${loadAvg()}`);
    console.table(lines);
  } finally {
    for (const p of procs) {
      if (p.load && p.load.child.exitCode === null) p.load.child.kill('SIGKILL');
      await stopServer(p.server);
      fs.rmSync(p.probeDir, { recursive: true, force: true });
    }
    for (const c of children) c.kill('SIGKILL');
    await cleanup(env, log).catch((e) => log(`cleanup: ${e.message}`));
  }
  process.exit(0);
}

main().catch((err) => {
  log(err.stack ?? err.message);
  process.exit(1);
});
