#!/usr/bin/env node
// Where the time of bench/http goes: copies of dist/ with one piece switched off (text patches of the
// compiled JS), each started as its own api, measured in the same run, interleaved over several rounds.
// A patch whose text is no longer in dist/ stops the run with its name: update PATCHES below.
//
//   node bench/http/ablate.js
//   ABLATE=bare,base,nouow ABLATE_KINDS=bearer,cookie,up ABLATE_ROUNDS=3 BENCH_DURATION_S=5 node bench/http/ablate.js
//
// `bare` is run.js's baseline app, measured in the same interleaved rounds.
//
// Same stack handling as run.js (BENCH_STACK, BENCH_KEEP_STACK). Prints, per variant and target, the best
// req/s, the best p99 and the median and lowest server CPU µs per request over the rounds.
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ensure } = require('../../scripts/ensure');
const { relaunchOnRequiredNode } = require('../../scripts/runtime');
const { ROOT, log, intEnv, startServer, makeUser, measure, children, sleep, runMain } = require('./run');

/** name -> [file under dist/, text, replacement]. */
const PATCHES = {
  // Reads batched per event-loop turn vs one MGET per read.
  nobatch: [['core/redis/batched-reads.js', 'const MAX_BATCH = 256;', 'const MAX_BATCH = 0;']],
  // The reads answered without Redis (what that round trip costs).
  noredis: [['core/redis/batched-reads.js', 'return this.redis.mget(...keys);', 'return Promise.resolve(keys.map(() => null));']],
  // No unit of work: no AsyncLocalStorage of ours (sticky routing and request log fields are then off).
  nouow: [['core/database/request-context.js', 'return storage.run({ wrote: false, userWithinWindow: false, ...init }, fn);', 'return fn();']],
  // The session cookie never sent again unless the session changes (no sliding expiry in the browser).
  norolling: [['core/session/session.middleware.js', 'rolling: true', 'rolling: false']],
  // The session cookie sent again with a fresh expiry on every response, as before CookieRefresh.
  rollalways: [['core/session/session.middleware.js', 'const refresh = new CookieRefresh();', 'const refresh = new CookieRefresh(0);']],
  // GET /api/projects without its @CurrentUser() parameter (the user id read from the unit of work instead):
  // what Nest's param pipeline with the global ValidationPipe costs a handler that has no body.
  noparam: [
    [
      'modules/projects/projects.controller.js',
      '    (0, common_1.Get)(),\n    __param(0, (0, auth_decorators_1.CurrentUser)()),\n    __metadata("design:type", Function),\n    __metadata("design:paramtypes", [Object]),',
      '    (0, common_1.Get)(),\n    __metadata("design:type", Function),\n    __metadata("design:paramtypes", []),',
    ],
    [
      'modules/projects/projects.controller.js',
      'return this.projects.listFor(me.id);',
      "return this.projects.listFor(Number(require('../../core/database/request-context').currentRequestContext().userId));",
    ],
  ],
  // prom-client's per-request observations (the HTTP histogram; the query histogram and counters).
  nometrics: [
    ['app/http-setup.js', 'metrics_1.httpRequestDuration.observe(', '(() => {})('],
    ['core/database/replication-router.js', 'metrics_1.dbQueryDuration.observe(kind.duration,', '(() => {})(kind.duration,'],
    ['core/database/replication-router.js', 'metrics_1.dbQueriesTotal.inc(kind.count);', ''],
    ['core/database/replication-router.js', 'metrics_1.dbReplicaReadsTotal.inc({ replica: this.replicas.label(replica) });', ''],
  ],
  // Our request pipeline replaced, for bearer requests, by the least the route needs: the token's user as the caller (decoded,
  // remembered per token; no request id, no access metrics, no CORS, no revocation or window read, no unit of
  // work). What is left of ours over bare is Nest's guards and pipe, the query wrapper and the larger app.
  skeleton: [
    [
      'app/http-setup.js',
      "    return (req, res, next) => {\n        const started = node_perf_hooks_1.performance.now();",
      "    const callers = new Map();\n    return (req, res, next) => {\n        const h = req.headers.authorization;\n        if (h && h.startsWith('Bearer ')) {\n          let p = callers.get(h);\n          if (!p) callers.set(h, (p = { id: Number(JSON.parse(Buffer.from(h.split('.')[1], 'base64url').toString()).sub), role: 'user', via: 'token' }));\n          req.principal = p;\n          return next();\n        }\n        const started = node_perf_hooks_1.performance.now();",
    ],
  ],
  // The request id: a constant instead of randomUUID() (the header is still set).
  noreqid: [['app/http-setup.js', ": (0, node_crypto_1.randomUUID)();", ": 'ablate';"]],
  // No 'finish' listener per response: no access metrics and no access line.
  nofinish: [['app/http-setup.js', "res.once('finish', () => finished(req, res, started));", ''], ['app/http-setup.js', 'const started = node_perf_hooks_1.performance.now();', '']],
  // Express's weak ETag (a SHA-1 of every body) switched off.
  noetag: [['app/http-setup.js', "express.disable('x-powered-by');", "express.disable('x-powered-by');\n    express.set('etag', false);"]],
  // The ops module (event-loop/GC sampler, instance registry, status snapshots).
  noops: [['app/api.module.js', 'ops_module_1.OpsModule.register({ connections: realtime_connection_stats_1.RealtimeConnectionStats }),', '']],
};

const VARIANTS = (process.env.ABLATE || 'base,nobatch,noredis,nouow,norolling,noops')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const KINDS = (process.env.ABLATE_KINDS || 'bearer,cookie').split(',').map((s) => s.trim());
const ROUNDS = intEnv('ABLATE_ROUNDS', 3);

function patchesOf(variant) {
  if (variant === 'base') return [];
  const names = variant === 'all' ? Object.keys(PATCHES) : variant.split('+');
  for (const n of names) if (!PATCHES[n]) throw new Error(`unknown patch ${n} (known: ${Object.keys(PATCHES).join(', ')})`);
  return names.flatMap((n) => PATCHES[n].map((p) => [n, ...p]));
}

function build(variant, into) {
  const dir = join(into, variant);
  execFileSync('cp', ['-a', join(ROOT, 'dist'), dir]);
  for (const [name, file, text, replacement] of patchesOf(variant)) {
    const path = join(dir, file);
    const source = readFileSync(path, 'utf8');
    if (!source.includes(text)) throw new Error(`patch ${name}: "${text}" is no longer in dist/${file}`);
    writeFileSync(path, source.split(text).join(replacement));
  }
  return join(dir, 'main.js');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  ensure();
  const stack = require('../../scripts/stack');
  const { services, migrate } = require('../../scripts/services');
  const stackName = process.env.BENCH_STACK || 'bench';
  const { env, own } = await services(stackName, log);
  const work = mkdtempSync(join(tmpdir(), 'switchboard-ablate-'));
  try {
    migrate(env);
    const apis = {};
    for (const v of VARIANTS.filter((x) => x !== 'bare')) {
      // The copies live outside the repo: NODE_PATH lets them find node_modules.
      apis[v] = await startServer(`api:${v}`, build(v, work), { ...env, LOG_LEVEL: 'warn', NODE_PATH: join(ROOT, 'node_modules') }, '/livez');
    }
    const user = await makeUser(Object.values(apis)[0]);
    // 'bare' is the baseline app of run.js in the same rounds: its /bare/projects stands for both auth kinds.
    if (VARIANTS.includes('bare')) {
      apis.bare = await startServer('bare', join(__dirname, 'bare-app.js'), { ...env, BENCH_USER_ID: String(user.id) }, '/bare/up');
    }
    await sleep(3000); // past the user's read-your-writes window
    const path = (api, ours, bare) => `${api.url}${api === apis.bare ? bare : ours}`;
    const targets = {
      bearer: (api) => ({ url: path(api, '/api/projects', '/bare/projects'), headers: { authorization: `Bearer ${user.token}` } }),
      cookie: (api) => ({ url: path(api, '/api/projects', '/bare/projects'), headers: { cookie: user.cookie } }),
      up: (api) => ({ url: path(api, '/up', '/bare/up') }),
    };
    const results = new Map();
    let bad = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of KINDS) {
        for (const v of round % 2 ? [...VARIANTS].reverse() : VARIANTS) {
          const r = await measure({ name: `${v} ${kind}`, server: apis[v], ...targets[kind](apis[v]) });
          bad += r.errors + r.non2xx;
          log(`round ${round + 1}: ${r.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.cpuUsPerReq.toFixed(0)} µs/req`);
          if (!results.has(r.name)) results.set(r.name, []);
          results.get(r.name).push(r);
        }
      }
    }
    const lines = ['| variant target | best req/s | best p99 ms | median CPU µs/req | lowest CPU µs/req |', '|---|---:|---:|---:|---:|'];
    for (const [name, rs] of results) {
      lines.push(
        `| ${name} | ${Math.max(...rs.map((r) => r.rps)).toFixed(0)} | ${Math.min(...rs.map((r) => r.p99))} | ` +
          `${median(rs.map((r) => r.cpuUsPerReq)).toFixed(0)} | ${Math.min(...rs.map((r) => r.cpuUsPerReq)).toFixed(0)} |`,
      );
    }
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
    return bad ? 1 : 0;
  } finally {
    for (const c of children) await c.stop();
    rmSync(work, { recursive: true, force: true });
    if (own && process.env.BENCH_KEEP_STACK !== '1') await stack.down(stackName);
  }
}

ensure();
if (!relaunchOnRequiredNode(__filename)) runMain(main);
