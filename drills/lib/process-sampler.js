// @ts-check
'use strict';
/**
 * Samples every api and worker process of the topology from its own /metrics (prom-client's
 * process and Node metrics plus ours) and from /proc: RSS, heap, event-loop lag p99, open file
 * descriptors, active handles (timers, sockets), SSE listeners, sockets, and the cluster-wide slot
 * ratio; Redis memory from INFO.
 */
const fs = require('node:fs');
const path = require('node:path');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Bytes → MB with one decimal, as every figure here. */
const mb = (bytes) => Math.round(bytes / 1e5) / 10;

/** name{labels} value lines -> the sum per metric name. */
function parseMetrics(text) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out[m[1]] = (out[m[1]] ?? 0) + v;
  }
  return out;
}

async function metricsOf(port) {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  return r && r.ok ? parseMetrics(await r.text()) : null;
}

function procOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssMb: Math.round(rssKb / 102.4) / 10, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

/** Every api and worker process of the topology: its sample name, metrics port and supervisord program. */
function targetsOf(cluster) {
  return [
    ...cluster.apiPorts.map((p) => ({ name: `api-${p}`, port: p, program: cluster.apiProgram(p) })),
    ...cluster.workerMetricsPorts.map((p) => ({ name: `worker-${p}`, port: p, program: `switchboard-worker:switchboard-worker-${p}` })),
  ];
}

/** One sample of every process: { 'api-3001': {...}, 'worker-3101': {...}, redis: {...} }. */
async function sample(cluster, redis) {
  /** @type {Record<string, any>} */
  const out = { at: Date.now() };
  for (const t of targetsOf(cluster)) {
    const pid = await cluster.pidOf(t.program);
    const m = await metricsOf(t.port);
    const proc = procOf(pid);
    out[t.name] = {
      pid,
      rssMb: proc?.rssMb ?? null,
      fds: proc?.fds ?? null,
      heapUsedMb: m ? mb(m.nodejs_heap_size_used_bytes ?? 0) : null,
      lagP99Ms: m && m.nodejs_eventloop_lag_p99_seconds !== undefined ? Math.round(m.nodejs_eventloop_lag_p99_seconds * 10000) / 10 : null,
      handles: m?.nodejs_active_handles_total ?? null,
      sse: m?.sse_active_clients ?? null,
      sockets: m?.socket_active_connections ?? null,
      capacityRatio: m?.connection_capacity_ratio ?? null,
    };
  }
  if (redis) {
    const info = await redis.info('memory').catch(() => '');
    out.redis = { usedMb: mb(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0)) };
  }
  return out;
}

/**
 * The same explicit GC request to every api and worker process, one process at a time (SIGUSR2 to
 * bench/realtime/mem-probe.js, preloaded with MEM_PROBE_DIR=dir): memory after two full collections,
 * the figure a leak shows in (a sample taken at a random point of the GC cycle carries garbage too).
 * A process that does not answer within timeoutMs is null.
 * @returns {Promise<Record<string, any>>}
 */
async function gcSample(cluster, dir, timeoutMs = 30000) {
  /** @type {Record<string, any>} */
  const out = { at: Date.now() };
  for (const t of targetsOf(cluster)) {
    const pid = await cluster.pidOf(t.program);
    out[t.name] = null;
    if (!pid) continue;
    const done = fs.readdirSync(dir).filter((f) => f.startsWith(`${pid}-`) && f.endsWith('.json')).length;
    const file = path.join(dir, `${pid}-${done + 1}.json`);
    const startedAt = Date.now();
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      continue;
    }
    while (!fs.existsSync(file) && Date.now() - startedAt < timeoutMs) await sleep(100);
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8'));
    out[t.name] = {
      pid,
      ms: Date.now() - startedAt,
      rssMb: mb(r.after.rss),
      heapUsedMb: mb(r.after.heapUsed),
      heapUsedBeforeGcMb: mb(r.before.heapUsed),
      externalMb: mb(r.after.external),
      arrayBuffersMb: mb(r.after.arrayBuffers),
      heapSnapshot: r.snapshot,
    };
  }
  return out;
}

module.exports = { sample, gcSample, parseMetrics };
