#!/usr/bin/env node
// npm run bench:http — requests/s and latency of our /up and authenticated GET /api/projects beside a bare
// NestJS app (bench/http/bare-app.js) doing the same database and Redis work, in one run, with the ratio.
//
// 1. builds if needed, starts (or reuses) the stack BENCH_STACK (default "bench") and migrates, like npm test;
// 2. starts one api (`node dist/main.js`, LOG_LEVEL=warn) and one bare app, each on a free port; the bare app
//    also serves two floors, the bare route plus only the cheapest express-session or only a token's Redis
//    read (bare-app.js): their ratio is the best a route with that piece could reach;
// 3. registers a user with BENCH_PROJECTS projects, takes a bearer token and keeps the session cookie;
// 4. runs autocannon against each target on 127.0.0.1, one after the other (warm-up, then measured run),
//    in BENCH_ROUNDS rounds, every other round in reverse order (so no target always runs first or last);
// 5. prints the table of medians over the rounds (ratios: of the median req/s, the median of each round's own
//    ratio — the paired figure, less moved by the machine between rounds — and of the median server CPU per
//    request, what req/s follows when the server is CPU-bound; each round's own ratio beside them), then for each
//    target with a goal (issue 12: /up 0.8, bearer 0.85, cookie 0.8) how sure the paired req/s and CPU ratios are
//    (median, 90 % bootstrap interval over the rounds, rounds at or above the goal, met / not met / not shown),
//    stops the processes it started (by pid) and the stack unless BENCH_KEEP_STACK=1.
// Exit status 1 when any response was not 2xx or a request failed.
//
// Knobs: BENCH_CONNECTIONS (20), BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_PROJECTS (5), BENCH_ROUNDS (3),
// BENCH_ONLY (comma-separated target names), BENCH_CPU_PROF=1 (writes .cpuprofile files to $TMPDIR/switchboard-bench-profiles/).
'use strict';
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { join } = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const { ensure } = require('../../scripts/ensure');
const { relaunchOnRequiredNode } = require('../../scripts/runtime');

const ROOT = join(__dirname, '..', '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => process.stderr.write(`[bench:http] ${m}\n`);

function intEnv(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min} (got "${raw}")`);
  return n;
}

const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 20);
const DURATION_S = intEnv('BENCH_DURATION_S', 10);
const WARMUP_S = intEnv('BENCH_WARMUP_S', 2, 0);
const PROJECTS = intEnv('BENCH_PROJECTS', 5);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const PROFILE_DIR = join(require('node:os').tmpdir(), 'switchboard-bench-profiles');
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A child process we started: output kept for error messages, stopped by its pid only. */
class Child {
  constructor(name, args, env) {
    this.name = name;
    this.output = '';
    this.proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    const keep = (c) => (this.output = (this.output + c.toString()).slice(-20000));
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        this.output += `\n[exited with code ${code}, signal ${signal}]`;
        resolve({ code, signal });
      }),
    );
  }

  get running() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** User + system CPU time of the process so far, in ms. */
  cpuMs() {
    if (!this.running) throw new Error(`${this.name} (pid ${this.pid}) exited during the run:\n${this.output}`);
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  }

  async stop(graceMs = 10000) {
    if (!this.running) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.running && process.kill(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const children = [];

async function startServer(name, script, env, readyPath) {
  const port = await freePort();
  const args = [];
  const profileFile = join(PROFILE_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  if (CPU_PROF) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    args.push('-r', join(__dirname, 'cpu-profile.js'));
  }
  args.push(script);
  const child = new Child(name, args, {
    ...process.env,
    ...env,
    PORT: String(port),
    ...(CPU_PROF ? { BENCH_CPU_PROF_FILE: profileFile } : {}),
  });
  child.port = port;
  child.url = `http://127.0.0.1:${port}`;
  child.profileFile = CPU_PROF ? profileFile : null;
  children.push(child);
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (!child.running) throw new Error(`${name} exited during start:\n${child.output}`);
    try {
      const res = await fetch(child.url + readyPath, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`${name} did not answer ${readyPath} within 60 s:\n${child.output}`);
}

/** Writes the CPU profile of a child (BENCH_CPU_PROF=1) before it is stopped. */
async function dumpProfile(child) {
  if (!child.profileFile || !child.running) return;
  process.kill(child.pid, 'SIGUSR2');
  const deadline = Date.now() + 30000;
  while (!existsSync(child.profileFile) && Date.now() < deadline) await sleep(200);
  log(existsSync(child.profileFile) ? `CPU profile of ${child.name}: ${child.profileFile}` : `no CPU profile from ${child.name}`);
}

async function call(base, method, path, { body, cookie, token } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (cookie) headers.cookie = cookie;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20000),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined, text };
}

/** A user with PROJECTS projects, a bearer token and a session cookie, made through the HTTP API. */
async function makeUser(api) {
  const email = `bench-${Date.now().toString(36)}-${process.pid}@example.test`;
  const reg = await call(api.url, 'POST', '/api/auth/register', { body: { email, password: 'bench-password-123', name: 'bench' } });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
  const setCookie = reg.headers.getSetCookie().find((c) => c.startsWith('switchboard.sid='));
  if (!setCookie) throw new Error('register set no session cookie');
  const cookie = setCookie.split(';')[0];
  for (let i = 1; i <= PROJECTS; i++) {
    const p = await call(api.url, 'POST', '/api/projects', { cookie, body: { name: `bench project ${i}` } });
    if (p.status !== 201) throw new Error(`create project: ${p.status} ${p.text}`);
  }
  const tok = await call(api.url, 'POST', '/api/auth/token', { cookie });
  if (tok.status !== 200) throw new Error(`token: ${tok.status} ${tok.text}`);
  return { id: reg.json.id, cookie, token: tok.json.token };
}

/** Both apps answer the same projects (the replica has caught up, the user's sticky window is over). */
async function sameAnswers(api, bare, user) {
  const deadline = Date.now() + 30000;
  let last = '';
  while (Date.now() < deadline) {
    const [ours, theirs, viaCookie, floorSession, floorRedis] = await Promise.all([
      call(api.url, 'GET', '/api/projects', { token: user.token }),
      call(bare.url, 'GET', '/bare/projects'),
      call(api.url, 'GET', '/api/projects', { cookie: user.cookie }),
      call(bare.url, 'GET', '/bare/projects-session', { cookie: user.cookie }),
      call(bare.url, 'GET', '/bare/projects-redis', { token: user.token }),
    ]);
    const all = [ours, theirs, viaCookie, floorSession, floorRedis];
    if (all.every((r) => r.status === 200) && ours.json.length === PROJECTS && all.every((r) => isDeepStrictEqual(ours.json, r.json))) {
      return;
    }
    last = all.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join(' / ');
    await sleep(500);
  }
  throw new Error(`our GET /api/projects and the bare route never answered the same: ${last}`);
}

async function measure(target) {
  const autocannon = require('autocannon');
  const opts = { url: target.url, headers: target.headers, connections: CONNECTIONS, pipelining: 1, timeout: 10 };
  if (WARMUP_S > 0) await autocannon({ ...opts, duration: WARMUP_S });
  const before = target.server.cpuMs();
  const r = await autocannon({ ...opts, duration: DURATION_S });
  const cpuMs = target.server.cpuMs() - before;
  const ok = r['2xx'];
  return {
    name: target.name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    ok,
    cpuUsPerReq: ok ? (cpuMs * 1000) / ok : NaN,
  };
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One row per target from its rounds: medians, errors summed, and each round's ratio to its baseline's same round. */
function summarise(runs) {
  return [...runs.values()].map(({ target, rounds }) => ({
    name: target.name,
    baseline: target.baseline,
    goal: target.goal,
    rounds,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    cpuUsPerReq: median(rounds.map((r) => r.cpuUsPerReq)),
  }));
}

function table(rows) {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU µs/req', 'req/s ours/bare', 'median of round ratios', 'CPU bare/ours', 'p99 ours/bare', 'req/s ratio by round'];
  const lines = rows.map((r) => {
    const base = r.baseline ? byName.get(r.baseline) : null;
    return [
      r.name,
      r.rps.toFixed(0),
      String(r.p50),
      String(r.p99),
      String(r.errors),
      String(r.non2xx),
      r.cpuUsPerReq.toFixed(0),
      base ? (r.rps / base.rps).toFixed(2) : '',
      base ? median(r.rounds.map((x, i) => x.rps / base.rounds[i].rps)).toFixed(2) : '',
      base ? (base.cpuUsPerReq / r.cpuUsPerReq).toFixed(2) : '',
      base ? (r.p99 / base.p99).toFixed(2) : '',
      base ? r.rounds.map((x, i) => (x.rps / base.rounds[i].rps).toFixed(2)).join(' ') : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

/** xorshift32: the same resamples for the same rounds, so a run's interval can be recomputed from its rounds. */
function seeded(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/**
 * How sure a median of per-round ratios is: the 5th and 95th percentiles of the median over 10,000 bootstrap
 * resamples of the rounds (a crude interval with 5–7 rounds, but it widens honestly with the spread).
 */
function bootstrapMedian(values, resamples = 10000) {
  const random = seeded(values.length * 7919 + Math.round(values.reduce((a, b) => a + b, 0) * 1000));
  const medians = [];
  for (let i = 0; i < resamples; i++) medians.push(median(values.map(() => values[Math.floor(random() * values.length)])));
  medians.sort((a, b) => a - b);
  return [medians[Math.floor(resamples * 0.05)], medians[Math.floor(resamples * 0.95)]];
}

/**
 * Per target with a goal (issue 12): the paired req/s ratio and the paired CPU ratio (bare's CPU per request over
 * ours, per round), each with its median, 90 % bootstrap interval and how many rounds reached the goal, and a verdict:
 * met (the interval above the goal), not met (below it) or not shown (the interval straddles it).
 */
function confidence(rows) {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const out = [];
  for (const r of rows) {
    const base = r.baseline && byName.get(r.baseline);
    if (!base || r.goal === undefined || r.rounds.length !== base.rounds.length) continue;
    const describe = (label, values) => {
      const [lo, hi] = bootstrapMedian(values);
      const reached = values.filter((v) => v >= r.goal).length;
      const verdict = lo >= r.goal ? 'met' : hi < r.goal ? 'not met' : 'not shown either way';
      return `${label} median ${median(values).toFixed(2)}, 90 % interval ${lo.toFixed(2)}–${hi.toFixed(2)}, ${reached} of ${values.length} rounds at or above: ${verdict}`;
    };
    const rps = r.rounds.map((x, i) => x.rps / base.rounds[i].rps);
    const cpu = r.rounds.map((x, i) => base.rounds[i].cpuUsPerReq / x.cpuUsPerReq);
    out.push(`${r.name}, goal ${r.goal}× ${base.name}: ${describe('req/s', rps)}; ${describe('CPU', cpu)}`);
  }
  return out.join('\n');
}

async function main() {
  ensure();
  const stack = require('../../scripts/stack');
  const { services, migrate } = require('../../scripts/services');
  const stackName = process.env.BENCH_STACK || 'bench';
  const { env, own } = await services(stackName, log);
  let failed = false;
  try {
    migrate(env);
    const api = await startServer('api', join(ROOT, 'dist', 'main.js'), { ...env, LOG_LEVEL: 'warn' }, '/livez');
    log(`api pid ${api.pid} on ${api.url}`);
    const user = await makeUser(api);
    log(`user ${user.id} with ${PROJECTS} projects`);
    const bare = await startServer('bare', join(__dirname, 'bare-app.js'), { ...env, BENCH_USER_ID: String(user.id) }, '/bare/up');
    log(`bare app pid ${bare.pid} on ${bare.url}`);
    if (own) await stack.waitReplicaCaughtUp(stackName, 30000);
    await sameAnswers(api, bare, user);

    const targets = [
      { name: 'bare /bare/up', server: bare, url: `${bare.url}/bare/up` },
      { name: 'ours /up', server: api, url: `${api.url}/up`, baseline: 'bare /bare/up', goal: 0.8 },
      { name: 'bare /bare/projects', server: bare, url: `${bare.url}/bare/projects` },
      {
        name: 'ours /api/projects (bearer)',
        server: api,
        url: `${api.url}/api/projects`,
        headers: { authorization: `Bearer ${user.token}` },
        baseline: 'bare /bare/projects',
        goal: 0.85,
      },
      {
        name: 'ours /api/projects (cookie)',
        server: api,
        url: `${api.url}/api/projects`,
        headers: { cookie: user.cookie },
        baseline: 'bare /bare/projects',
        goal: 0.8,
      },
      // The floors (bare-app.js): the bare route plus only the cheapest session, or only the token's Redis read.
      {
        name: 'floor /bare/projects-session (cookie)',
        server: bare,
        url: `${bare.url}/bare/projects-session`,
        headers: { cookie: user.cookie },
        baseline: 'bare /bare/projects',
      },
      {
        name: 'floor /bare/projects-redis (bearer)',
        server: bare,
        url: `${bare.url}/bare/projects-redis`,
        headers: { authorization: `Bearer ${user.token}` },
        baseline: 'bare /bare/projects',
      },
    ];
    const only = (process.env.BENCH_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
    const chosen = only.length ? targets.filter((t) => only.some((o) => t.name.includes(o))) : targets;
    log(`${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per target, ${chosen.length} targets, ${ROUNDS} rounds`);
    const runs = new Map(chosen.map((t) => [t.name, { target: t, rounds: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of round % 2 ? [...chosen].reverse() : chosen) {
        const r = await measure(t);
        runs.get(t.name).rounds.push(r);
        log(`round ${round + 1}: ${t.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.cpuUsPerReq.toFixed(0)} µs/req`);
        if (!api.running || !bare.running) throw new Error(`a server exited during the run:\n${api.output}\n${bare.output}`);
      }
    }
    const rows = summarise(runs);
    process.stdout.write(`\n${table(rows)}\n\n`);
    const sure = confidence(rows);
    if (sure) process.stdout.write(`${sure}\n\n`);
    const bad = rows.filter((r) => r.errors || r.non2xx);
    if (bad.length) {
      failed = true;
      log(`FAILED: errors or non-2xx responses on ${bad.map((r) => r.name).join(', ')}`);
    }
    for (const c of children) await dumpProfile(c);
  } finally {
    for (const c of children) await c.stop();
    if (own && process.env.BENCH_KEEP_STACK !== '1') await stack.down(stackName);
  }
  return failed ? 1 : 0;
}

/** Runs a benchmark's main: exit with its code; on a crash, stop every server it started first. */
function runMain(fn) {
  fn().then(
    (code) => process.exit(code),
    async (err) => {
      log(err && err.stack ? err.stack : String(err));
      for (const c of children) await c.stop().catch(() => {});
      process.exit(1);
    },
  );
}

module.exports = { ROOT, log, sleep, intEnv, startServer, makeUser, measure, children, runMain, bootstrapMedian, confidence };

// On an older system node: run again on the project's Node 24 (scripts/runtime.js) before anything starts.
if (require.main === module) {
  ensure();
  if (!relaunchOnRequiredNode(__filename)) runMain(main);
}
