// @ts-check
'use strict';
/**
 * soak: `--clients` (default 3,000) sockets and SSE streams and a steady message stream for
 * `--duration` seconds (default 1,800), every process sampled every 10 s. After the warm-up (the
 * first fifth, at least 60 s) RSS and heap may grow by less than 5 % per process; after the clients
 * leave, every process must be back to no sockets, no SSE listeners and no cluster slots, with its
 * active handles (timers, sockets) back near where they were before the load.
 */
const os = require('node:os');
const path = require('node:path');
const { Load, sleep } = require('../lib/load');
const { loadGuarantees } = require('../lib/checks');
const { sample } = require('../lib/process-sampler');
const { ROOT } = require('../lib/topology');

const GROWTH_LIMIT = 0.05;
/** Growth is compared between the median of the first minute after warm-up and the median of the last minute. */
const WINDOW_MS = 60000;

function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

async function run({ cluster, env, opts, log }) {
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
    while (Date.now() - startedAt < durationS * 1000) {
      await sleep(Math.min(10000, Math.max(1000, durationS * 1000 - (Date.now() - startedAt))));
      const s = await sample(cluster, redis);
      s.loadavg = Math.round(os.loadavg()[0] * 10) / 10;
      samples.push(s);
      if (!warm && Date.now() - startedAt >= warmupMs) warm = s;
    }
    const end = samples[samples.length - 1];
    warm = warm ?? samples[Math.floor(samples.length / 2)] ?? end;
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
      per[name] = {
        restarted: !samePid,
        rssMb: { idle: idle[name]?.rssMb, warm: warmRss, end: endRss, growthPct: growth(warmRss, endRss) },
        heapUsedMb: { warm: warmHeap, end: endHeap, growthPct: growth(warmHeap, endHeap) },
        fds: { idle: idle[name]?.fds, end: e.fds, after: after[name]?.fds },
        handles: { idle: idle[name]?.handles, end: e.handles, after: after[name]?.handles },
        lagP99MsMax: maxLag,
        lagP99MsMedian: median(lags),
        after: { sockets: after[name]?.sockets, sse: after[name]?.sse, capacityRatio: after[name]?.capacityRatio },
      };
      if (samePid) worstGrowth = Math.max(worstGrowth, per[name].rssMb.growthPct ?? 0, per[name].heapUsedMb.growthPct ?? 0);
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
  }
}

module.exports = { run };
