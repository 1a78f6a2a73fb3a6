// @ts-check
'use strict';
/**
 * soak: `--clients` (default 3,000) sockets and SSE streams and a steady message stream for
 * `--duration` seconds (default 1,800), every process sampled every 10 s. After the warm-up (the
 * first fifth, at least 60 s) RSS and heap may grow by less than 5 % per process; after the clients
 * leave, every process must be back to no sockets, no SSE listeners and no cluster slots, with its
 * active handles (timers, sockets) back near where they were before the load.
 *
 * Memory is compared after the same explicit GC request at the warm-up mark and at the end (every
 * process preloads bench/realtime/mem-probe.js): what a full collection leaves is what the process
 * holds. The medians of a minute of /metrics samples on each side are reported beside it. With
 * --heap-snapshots each process also writes a heap snapshot after both requests, and the figures
 * name the object kinds that grew the most between them (drills/lib/heap-diff.js).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { Load, sleep } = require('../lib/load');
const { loadGuarantees } = require('../lib/checks');
const { sample, gcSample } = require('../lib/process-sampler');
const { ROOT } = require('../lib/topology');

const GROWTH_LIMIT = 0.05;
/** Growth is compared between the median of the first minute after warm-up and the median of the last minute. */
const WINDOW_MS = 60000;

function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** Every process preloads the memory probe; its files go to a directory of this run. */
function env(opts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-soak-'));
  return {
    NODE_OPTIONS: `--require=${path.join(ROOT, 'bench', 'realtime', 'mem-probe.js')}`,
    MEM_PROBE_DIR: dir,
    ...(opts.heapSnapshots ? { MEM_PROBE_HEAP_SNAPSHOT: '1' } : {}),
  };
}

/** The object kinds that grew most between two heap snapshots of one process (a child process: snapshots are large). */
function heapDiff(a, b) {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--max-old-space-size=8192', path.join(__dirname, '..', 'lib', 'heap-diff.js'), a, b, '--top=15'], { maxBuffer: 1 << 24, timeout: 600000 }, (err, stdout, stderr) => {
      resolve(err ? { error: String(stderr || err.message).slice(0, 500) } : JSON.parse(stdout));
    });
  });
}

async function run({ cluster, env, opts, log }) {
  // Set by env() below when the drill runner starts the topology; without it the medians alone are judged.
  const probeDir = env.MEM_PROBE_DIR;
  const gcTimeoutMs = opts.heapSnapshots ? 180000 : 30000;
  const Redis = require(path.join(ROOT, 'node_modules', 'ioredis'));
  const redis = new Redis(env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const durationS = opts.duration ?? 1800;
  const clients = opts.clients ?? 3000;
  const load = new Load(cluster.url, { clients, rate: opts.rate ?? 100, log });
  try {
    await sleep(3000);
    const idle = await sample(cluster, redis);
    await load.start();
    const startedAt = Date.now();
    const warmupMs = Math.max(60000, (durationS * 1000) / 5);
    const samples = [];
    let warm = null;
    /** @type {Record<string, any>} */
    let warmGc = {};
    while (Date.now() - startedAt < durationS * 1000) {
      await sleep(Math.min(10000, Math.max(1000, durationS * 1000 - (Date.now() - startedAt))));
      const s = await sample(cluster, redis);
      s.loadavg = Math.round(os.loadavg()[0] * 10) / 10;
      samples.push(s);
      if (!warm && Date.now() - startedAt >= warmupMs) {
        warm = s;
        log('warm-up over: the same GC request to every process');
        warmGc = probeDir ? await gcSample(cluster, probeDir, gcTimeoutMs) : {};
      }
    }
    const end = samples[samples.length - 1];
    warm = warm ?? samples[Math.floor(samples.length / 2)] ?? end;
    log('end: the same GC request to every process');
    /** @type {Record<string, any>} */
    const endGc = probeDir ? await gcSample(cluster, probeDir, gcTimeoutMs) : {};
    const figures = await load.stop({ settleMs: 3000 });
    // Clients gone: give the processes the time a missed close takes to be reconciled.
    await sleep(15000);
    const after = await sample(cluster, redis);
    // One sample's heap depends on where the GC cycle was: a minute of samples (6) each side, medians.
    const endAt = end.at;
    const warmAt = warm.at;
    const warmWindow = samples.filter((x) => x.at >= warmAt && x.at < warmAt + WINDOW_MS && x.at < endAt - WINDOW_MS);
    const endWindow = samples.filter((x) => x.at > endAt - WINDOW_MS);
    const per = {};
    /** @type {string[]} */
    const gcUnanswered = [];
    let worstGrowth = 0;
    let worstLag = 0;
    for (const name of Object.keys(end).filter((k) => k.startsWith('api-') || k.startsWith('worker-'))) {
      const w = warm[name];
      const e = end[name];
      const growth = (a, b) => (a && b !== null ? Math.round(((b - a) / a) * 1000) / 10 : null);
      const mid = (win, field) => median(win.filter((x) => x[name]?.pid === e.pid).map((x) => x[name]?.[field]));
      const warmRss = mid(warmWindow, 'rssMb') ?? w.rssMb;
      const endRss = mid(endWindow, 'rssMb') ?? e.rssMb;
      const warmHeap = mid(warmWindow, 'heapUsedMb') ?? w.heapUsedMb;
      const endHeap = mid(endWindow, 'heapUsedMb') ?? e.heapUsedMb;
      const lags = samples.map((s) => s[name]?.lagP99Ms).filter((x) => typeof x === 'number');
      const maxLag = lags.length ? Math.max(...lags) : null;
      const samePid = w.pid === e.pid;
      const gw = warmGc[name];
      const ge = endGc[name];
      const afterGc = gw && ge && gw.pid === ge.pid
        ? {
            rssMb: { warm: gw.rssMb, end: ge.rssMb, growthPct: growth(gw.rssMb, ge.rssMb) },
            heapUsedMb: { warm: gw.heapUsedMb, end: ge.heapUsedMb, growthPct: growth(gw.heapUsedMb, ge.heapUsedMb) },
            externalMb: { warm: gw.externalMb, end: ge.externalMb },
            requestMs: { warm: gw.ms, end: ge.ms },
          }
        : null;
      per[name] = {
        restarted: !samePid,
        afterGc,
        rssMb: { idle: idle[name]?.rssMb, warm: warmRss, end: endRss, growthPct: growth(warmRss, endRss) },
        heapUsedMb: { warm: warmHeap, end: endHeap, growthPct: growth(warmHeap, endHeap) },
        fds: { idle: idle[name]?.fds, end: e.fds, after: after[name]?.fds },
        handles: { idle: idle[name]?.handles, end: e.handles, after: after[name]?.handles },
        lagP99MsMax: maxLag,
        lagP99MsMedian: median(lags),
        after: { sockets: after[name]?.sockets, sse: after[name]?.sse, capacityRatio: after[name]?.capacityRatio },
      };
      // What a full GC leaves is the measure; a process the GC request did not reach is judged by the medians.
      // With --heap-snapshots the end RSS still holds what writing the warm-up snapshot took (tens of MB
      // of native memory the process keeps): only the heap is judged in such a run.
      const judged = afterGc ?? per[name];
      const rssJudged = opts.heapSnapshots && afterGc ? 0 : (judged.rssMb.growthPct ?? 0);
      if (samePid) worstGrowth = Math.max(worstGrowth, rssJudged, judged.heapUsedMb.growthPct ?? 0);
      if (!afterGc && samePid) gcUnanswered.push(name);
      if (opts.heapSnapshots && afterGc && gw.heapSnapshot?.file && ge.heapSnapshot?.file) {
        log(`${name}: comparing its heap snapshots`);
        per[name].heapGrowth = await heapDiff(gw.heapSnapshot.file, ge.heapSnapshot.file);
        per[name].heapSnapshots = [gw.heapSnapshot.file, ge.heapSnapshot.file];
      }
      worstLag = Math.max(worstLag, maxLag ?? 0);
    }
    const apis = Object.keys(per).filter((k) => k.startsWith('api-'));
    const leaks = apis.filter((k) => per[k].after.sockets || per[k].after.sse || per[k].after.capacityRatio);
    const handleLeaks = apis.filter((k) => per[k].handles.after !== null && per[k].handles.idle !== null && per[k].handles.after > per[k].handles.idle + 20);
    return {
      figures: {
        ...figures,
        durationS,
        warmupS: Math.round(warmupMs / 1000),
        processes: per,
        worstGrowthPct: worstGrowth,
        memoryJudgedBy: `${gcUnanswered.length ? `after the GC request, except ${gcUnanswered.join(', ')} (minute medians)` : 'after the same GC request at warm-up and at the end'}${opts.heapSnapshots ? '; heap only (the snapshots hold RSS)' : ''}`,
        worstLagP99Ms: worstLag,
        samples: samples.length,
        loadavgDuring: samples.map((x) => x.loadavg).filter(Boolean),
        redisMb: { idle: idle.redis?.usedMb, warm: warm.redis?.usedMb, end: end.redis?.usedMb, after: after.redis?.usedMb },
        leakedAfterClientsLeft: leaks,
        handlesNotReturned: handleLeaks,
      },
      guarantees: {
        ...loadGuarantees(figures),
        memoryGrowthUnder5Pct: worstGrowth < GROWTH_LIMIT * 100,
        nothingLeftAfterClientsLeft: leaks.length === 0 && handleLeaks.length === 0,
        noProcessRestarted: Object.values(per).every((p) => !p.restarted),
      },
    };
  } finally {
    load.kill();
    redis.disconnect();
    // The probe's files; heap snapshots stay for whoever reads them (their paths are in the figures).
    if (probeDir && !opts.heapSnapshots) fs.rmSync(probeDir, { recursive: true, force: true });
  }
}

module.exports = { run, env };
