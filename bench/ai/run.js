#!/usr/bin/env node
'use strict';
/**
 * bench/ai: what the AI response cache, coalescing and batching buy.
 *
 *   node bench/ai/run.js [--stack=bench-ai] [--latency=300] [--requests=400] [--clients=20] [--out=FILE [--force]]
 *
 * The report goes to stdout. --out=FILE also writes it there; a file that exists (bench/ai/RESULTS.md,
 * the committed record) is replaced only with --force, so a run never overwrites a record silently.
 *
 * Builds if needed, starts (or reuses) the named local stack (MariaDB + Redis,
 * like `npm test`), a fake OpenAI-compatible server on 127.0.0.1 answering
 * after --latency ms, and one api process per scenario (node dist/main.js).
 * Traffic: 127.0.0.1 only, bounded by --requests per scenario.
 *
 * 1. latency: 30 distinct questions asked once (uncached: a provider call
 *    each), then the same 30 again (cached), sequentially, one client.
 * 2. throughput: --requests requests from --clients concurrent clients, half
 *    of them repeats of an earlier question (a fixed, seeded mix), with the
 *    cache on and off, and with batching (AI_BATCH_WINDOW_MS) on and off,
 *    against the fake provider and against `local` with the same latency
 *    (local supports batches; chat completions has no batch endpoint).
 */
const { spawn } = require('node:child_process');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const { join, relative } = require('node:path');
const { randomUUID } = require('node:crypto');
const { startFakeOpenAi } = require('./fake-openai');

const ROOT = join(__dirname, '..', '..');
const arg = (name, def) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : def;
};
const STACK = arg('stack', 'bench-ai');
const LATENCY = Number(arg('latency', '300'));
const REQUESTS = Number(arg('requests', '400'));
const CLIENTS = Number(arg('clients', '20'));
const OUT = arg('out', '');
const FORCE = process.argv.includes('--force');
const log = (m) => process.stderr.write(`[bench:ai] ${m}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startApi(stackEnv, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...stackEnv, NODE_ENV: 'production', SESSION_SECRET: 'bench-session-secret-0123456789', JWT_SECRET: 'bench-jwt-secret-0123456789abcdef', LOG_LEVEL: 'warn', WRITE_RATE_LIMIT_POINTS: '1000000000', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('api exited during start');
    try {
      if ((await fetch(`${url}/livez`)).ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 10000).unref();
    });
  return { url, stop };
}

async function tokenFor(url) {
  const email = `bench-${randomUUID().slice(0, 12)}@example.test`;
  const reg = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'password-123', name: 'bench' }),
  });
  const cookie = reg.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(`${url}/api/auth/token`, { method: 'POST', headers: { cookie } });
  return (await res.json()).token;
}

async function ask(url, token, query) {
  const started = performance.now();
  const res = await fetch(`${url}/api/ai/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`complete: ${res.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - started, body };
}

const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (n) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** A seeded mix: `total` queries, every other one (on average) a repeat of an earlier distinct one. */
function workload(total, runId) {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const distinct = [];
  const list = [];
  for (let i = 0; i < total; i++) {
    if (distinct.length && rand() < 0.5) list.push(distinct[Math.floor(rand() * distinct.length)]);
    else {
      const q = `bench ${runId} question ${distinct.length}: how do I configure feature ${distinct.length}?`;
      distinct.push(q);
      list.push(q);
    }
  }
  return { list, distinct: distinct.length };
}

async function throughput(url, token, queries, clients) {
  let next = 0;
  const latencies = [];
  let cachedCount = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < queries.length) {
        const q = queries[next++];
        const r = await ask(url, token, q);
        latencies.push(r.ms);
        if (r.body.cached) cachedCount += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rps: queries.length / seconds, seconds, p50: pct(latencies, 50), p95: pct(latencies, 95), cached: cachedCount };
}

async function main() {
  // Before any work: a committed record is replaced on purpose only.
  if (OUT && existsSync(OUT) && !FORCE) throw new Error(`${relative(process.cwd(), OUT)} exists (a committed run record?); add --force to replace it, or pick another --out`);
  require(join(ROOT, 'scripts', 'ensure.js')).ensure();
  const { services, migrate } = require(join(ROOT, 'scripts', 'services.js'));
  const { env: stackEnv } = await services(STACK, log);
  migrate(stackEnv);
  const fake = await startFakeOpenAi({ latencyMs: LATENCY });
  const provider = `openai-compatible:${fake.url}`;
  const lines = [];
  const out = (l = '') => {
    lines.push(l);
    process.stdout.write(`${l}\n`);
  };
  out('# AI responses: cache, coalescing and batching (bench/ai)');
  out();
  out(`Command: \`node bench/ai/run.js --latency=${LATENCY} --requests=${REQUESTS} --clients=${CLIENTS}\` (${new Date().toISOString()}, ${require('node:os').cpus().length} CPUs, load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' / ')} at the start, Node ${process.version}).`);
  out(`One api process (node dist/main.js, NODE_ENV=production, LOG_LEVEL=warn), local Redis + MariaDB stack, fake OpenAI-compatible provider on 127.0.0.1 answering after ${LATENCY} ms. Client times are measured by the bench (HTTP round trip); \`latencyMs\` is what the api reports.`);
  out();

  try {
    // 1. Latency: uncached vs cached.
    {
      const api = await startApi(stackEnv, { AI_PROVIDERS: provider });
      const token = await tokenFor(api.url);
      const runId = randomUUID().slice(0, 8);
      const qs = Array.from({ length: 30 }, (_, i) => `latency ${runId} question ${i}`);
      await ask(api.url, token, `warm-up ${runId}`);
      const miss = [];
      const hit = [];
      for (const q of qs) miss.push(await ask(api.url, token, q));
      for (let round = 0; round < 3; round++) for (const q of qs) hit.push(await ask(api.url, token, q));
      await api.stop();
      if (miss.some((r) => r.body.cached) || hit.some((r) => !r.body.cached)) throw new Error('latency run: unexpected cache outcome');
      out('## Latency of one answer, uncached vs cached');
      out();
      out('| answer | n | client p50 ms | client p95 ms | server latencyMs p50 | server latencyMs p95 |');
      out('|---|---|---|---|---|---|');
      for (const [name, rs] of [['uncached (provider call)', miss], ['cached (Redis hit)', hit]]) {
        const c = rs.map((r) => r.ms);
        const s = rs.map((r) => r.body.latencyMs);
        out(`| ${name} | ${rs.length} | ${fmt(pct(c, 50))} | ${fmt(pct(c, 95))} | ${fmt(pct(s, 50))} | ${fmt(pct(s, 95))} |`);
      }
      out();
    }

    // 2. Throughput of a 50 %-repeat workload.
    const scenarios = [
      { name: 'openai-compatible, cache on, batching off', env: { AI_PROVIDERS: provider, AI_CACHE_ENABLED: 'true', AI_BATCH_WINDOW_MS: '0' } },
      { name: 'openai-compatible, cache off, batching off', env: { AI_PROVIDERS: provider, AI_CACHE_ENABLED: 'false', AI_BATCH_WINDOW_MS: '0' } },
      { name: 'openai-compatible, cache on, batching on (20 ms)', env: { AI_PROVIDERS: provider, AI_CACHE_ENABLED: 'true', AI_BATCH_WINDOW_MS: '20' } },
      { name: 'openai-compatible, cache off, batching on (20 ms)', env: { AI_PROVIDERS: provider, AI_CACHE_ENABLED: 'false', AI_BATCH_WINDOW_MS: '20' } },
      { name: `local (${LATENCY} ms/call), cache on, batching off`, local: true, env: { AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: String(LATENCY), AI_CACHE_ENABLED: 'true', AI_BATCH_WINDOW_MS: '0' } },
      { name: `local (${LATENCY} ms/call), cache on, batching on (20 ms)`, local: true, env: { AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: String(LATENCY), AI_CACHE_ENABLED: 'true', AI_BATCH_WINDOW_MS: '20' } },
      { name: `local (${LATENCY} ms/call), cache off, batching off`, local: true, env: { AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: String(LATENCY), AI_CACHE_ENABLED: 'false', AI_BATCH_WINDOW_MS: '0' } },
      { name: `local (${LATENCY} ms/call), cache off, batching on (20 ms)`, local: true, env: { AI_PROVIDERS: 'local', AI_LOCAL_LATENCY_MS: String(LATENCY), AI_CACHE_ENABLED: 'false', AI_BATCH_WINDOW_MS: '20' } },
    ];
    out(`## Throughput, ${REQUESTS} requests, ${CLIENTS} concurrent clients, 50 % repeats (AI_CONCURRENCY=10)`);
    out();
    out('| scenario | distinct questions | provider calls | answered from cache | req/s | client p50 ms | client p95 ms |');
    out('|---|---|---|---|---|---|---|');
    for (const s of scenarios) {
      const api = await startApi(stackEnv, { AI_CONCURRENCY: '10', ...s.env });
      const token = await tokenFor(api.url);
      const { list, distinct } = workload(REQUESTS, randomUUID().slice(0, 8));
      fake.reset();
      const metricsBefore = await providerCalls(api.url);
      const r = await throughput(api.url, token, list, CLIENTS);
      const calls = s.local ? (await providerCalls(api.url)) - metricsBefore : fake.stats().calls;
      await api.stop();
      out(`| ${s.name} | ${distinct} | ${calls} | ${r.cached} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p95)} |`);
    }
    out();
  } finally {
    await fake.close();
  }
  const notes = join(__dirname, 'notes.md');
  if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trimEnd());
  process.stdout.write(`${lines.join('\n')}\n`);
  if (OUT) {
    writeFileSync(OUT, `${lines.join('\n')}\n`);
    log(`written to ${relative(process.cwd(), OUT)}`);
  }
  log(`stop the stack with: node scripts/down.js --stack=${STACK}`);
}

/** Successful provider calls so far, from the api's /metrics (all providers). */
async function providerCalls(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('ai_provider_requests_total{') && l.includes('status="ok"'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

require(join(ROOT, 'scripts', 'ensure.js')).ensure();
if (!require(join(ROOT, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename)) main().catch((err) => {
  log(err.stack || String(err));
  process.exit(1);
});
