// @ts-check
'use strict';
/**
 * `npm run cluster -- <command>`: operate the running cluster of this checkout (`npm run up -- --instances N`)
 * without stopping it. It finds the cluster's own supervisord (its socket and configuration under
 * .stack/.clusters/<name>/), never the system's.
 *
 *   status                              every process with its state and pid, and the cluster's settings
 *   ctl <supervisorctl arguments>       supervisorctl -c <this cluster's supervisord.conf> <arguments>
 *   scale [--instances=N] [--workers=N] api processes (one at a time, nginx reloaded) and workers
 *   env:set KEY=VALUE ...               checked against the configuration schema, written into the program files
 *   env:unset KEY ...                   drops what env:set set
 *   env                                 what env:set set (secrets shown by length only)
 *   roll [api|workers|scheduler ...]    restart with the current configuration: api processes one at a time,
 *                                       each only once the previous answers /up; then the workers, the scheduler
 *
 * The cluster: --cluster=NAME, else SWITCHBOARD_CLUSTER, else "dev", else the only one running here.
 * A bad argument changes nothing and exits 2; a failure exits 1 saying what state it left.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const cluster = require('./cluster');

const ROOT = path.join(__dirname, '..');
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const say = (/** @type {string} */ m) => process.stderr.write(`[cluster] ${m}\n`);

class UsageError extends Error {}

const USAGE = `usage: npm run cluster -- <command> [--cluster=NAME]
  status                               every process, its state and pid; ports, counts, env overrides
  ctl <supervisorctl arguments>        e.g. ctl restart switchboard-api-3001, ctl tail switchboard-worker:switchboard-worker-3101
  scale [--instances=N] [--workers=N]  add or remove api processes (nginx reloaded; the others untouched) or workers
  env:set KEY=VALUE ...                set variables for every process (applied by roll)
  env:unset KEY ...                    drop variables env:set set
  env                                  show what env:set set
  roll [api|workers|scheduler ...]     restart with the current configuration (api: one at a time, each back on /up first)`;

/**
 * @typedef {{ name: string, port: number, instances: number, workers: number, node: string, env: Record<string, string>, overrides: Record<string, string> }} State
 * @typedef {{ state: State, dir: string, conf: string, pid: number, tools: { nginx: string, supervisorctl: string } }} Running
 */

/** The running clusters of this checkout, by name. */
function runningNames(root = ROOT) {
  try {
    return fs.readdirSync(cluster.CLUSTERS_DIR).filter((n) => cluster.runningPid(cluster.clusterDir(root, n)));
  } catch {
    return [];
  }
}

/**
 * The running cluster named (or the default one), or null with the reason.
 * @param {string | undefined} name
 * @returns {{ running: Running | null, why: string }}
 */
function find(name, root = ROOT) {
  const running = runningNames(root);
  const wanted = name || process.env.SWITCHBOARD_CLUSTER || (running.includes('dev') || running.length !== 1 ? 'dev' : running[0]);
  const dir = cluster.clusterDir(root, wanted);
  const pid = cluster.runningPid(dir);
  const state = cluster.readState(wanted, root);
  if (!pid || !state) {
    const others = running.filter((n) => n !== wanted);
    return {
      running: null,
      why: `no cluster "${wanted}" is running in this checkout (${path.relative(process.cwd(), dir) || dir}): \`npm run up -- --instances N\` starts one${others.length ? `; running here: ${others.join(', ')} (--cluster=NAME)` : ''}`,
    };
  }
  const { tools } = cluster.findTools();
  return { running: { state, dir, conf: path.join(dir, 'supervisord.conf'), pid, tools: { nginx: String(tools.nginx), supervisorctl: String(tools.supervisorctl) } }, why: '' }; // findTools throws when one is missing
}

/**
 * supervisorctl against the cluster; resolves with its output whatever the exit code (status exits 3
 * when a process is not RUNNING), rejects only when supervisord does not answer.
 * @param {Running} c
 * @param {string[]} args
 */
function supervisorctl(c, args, timeoutMs = 300000) {
  const r = spawnSync(c.tools.supervisorctl, ['-c', c.conf, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  if (r.error) throw new Error(`supervisorctl ${args.join(' ')}: ${r.error.message}`);
  if (/refused connection|no such file|SHUTDOWN_STATE/i.test(out) && !args.includes('tail')) throw new Error(`supervisorctl ${args.join(' ')}: ${out.trim()}`);
  return { code: r.status ?? 1, out };
}

/** @param {string} out @returns {Map<string, { state: string, pid: number }>} program name → state */
function parseStatus(out) {
  const m = new Map();
  for (const line of out.split('\n')) {
    const hit = /^(\S+)\s+([A-Z]+)\s*(?:pid (\d+))?/.exec(line);
    if (hit) m.set(hit[1], { state: hit[2], pid: Number(hit[3] || 0) });
  }
  return m;
}

/** @param {number} port */
async function answersUp(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/up`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** @param {Running} c @param {number} port */
async function waitUp(c, port, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answersUp(port)) return;
    await sleep(300);
  }
  throw new Error(`switchboard-api-${port} did not answer /up with 200 within ${timeoutMs / 1000} s; its log: ${path.join(c.dir, 'logs', `switchboard-api-${port}.log`)}`);
}

/** @param {Running} c @param {(names: string[]) => boolean} done */
async function waitStatus(c, done, what, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = parseStatus(supervisorctl(c, ['status']).out);
    const running = [...status].filter(([, s]) => s.state === 'RUNNING').map(([n]) => n);
    if (done(running)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s:\n${[...status].map(([n, s]) => `  ${n} ${s.state}`).join('\n')}`);
    await sleep(500);
  }
}

/** One `npm run cluster` changing a cluster at a time. @param {Running} c @param {() => Promise<number>} fn */
async function locked(c, fn) {
  const lock = path.join(c.dir, 'ctl.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8').trim() || 0);
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new Error(`another \`npm run cluster\` (pid ${holder}) is changing cluster "${c.state.name}"; wait for it`);
      }
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/* ------------------------------------------------------------------ commands */

/** @param {Running} c */
function status(c) {
  const s = c.state;
  const api = cluster.apiPortsOf(s);
  const metrics = cluster.workerMetricsPortsOf(s);
  const overrides = Object.keys(s.overrides || {});
  process.stdout.write(
    [
      `cluster "${s.name}": nginx on http://127.0.0.1:${s.port}, ${s.instances} api process(es) on ${api.join(', ')}, ${s.workers} worker(s) (metrics on ${metrics.join(', ')}), the scheduler`,
      `supervisord pid ${c.pid}, configuration and logs in ${path.relative(process.cwd(), c.dir) || c.dir}`,
      `env:set overrides: ${overrides.length ? overrides.join(', ') : 'none'}`,
      '',
    ].join('\n'),
  );
  const r = supervisorctl(c, ['status']);
  process.stdout.write(r.out);
  return 0;
}

/** @param {Running} c @param {string[]} args */
function ctl(c, args) {
  if (!args.length) throw new UsageError('ctl needs supervisorctl arguments, e.g. `ctl status` or `ctl restart switchboard-api-3001`');
  const r = spawnSync(c.tools.supervisorctl, ['-c', c.conf, ...args], { stdio: 'inherit' });
  return r.status ?? 1;
}

/** @param {string | undefined} v @param {string} flag @param {number} min @param {number} max */
function count(v, flag, min, max) {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * Workers: the worker program is one group, so a new count restarts it (each worker finishes its running
 * job first). Api processes: each is a program of its own; new ones start and answer /up before nginx is
 * reloaded with them; removed ones leave nginx first, then drain and stop. The others are not touched.
 * @param {Running} c @param {{ instances?: number, workers?: number }} want
 */
async function scale(c, want) {
  const s = c.state;
  const root = ROOT;
  if (want.instances === undefined && want.workers === undefined) throw new UsageError('scale needs --instances=N and/or --workers=N');
  if (want.workers !== undefined && want.workers !== s.workers) {
    const before = s.workers;
    for (const p of cluster.workerMetricsPortsOf({ ...s, workers: want.workers }).slice(before)) {
      if (await cluster.tcpAnswers(p)) throw new Error(`port ${p} (a new worker's metrics port) is in use; nothing changed`);
    }
    s.workers = want.workers;
    cluster.writeState(s, root);
    cluster.writePrograms(s, root);
    say(`workers ${before} -> ${s.workers}: restarting the worker group (each worker finishes its running job first)`);
    supervisorctl(c, ['update', 'switchboard-worker']);
    const names = cluster.workerMetricsPortsOf(s).map((p) => `switchboard-worker:switchboard-worker-${p}`);
    await waitStatus(c, (running) => names.every((n) => running.includes(n)), `${s.workers} workers RUNNING`);
    say(`${s.workers} workers RUNNING`);
  }
  if (want.instances !== undefined && want.instances > s.instances) {
    const added = cluster.apiPortsOf({ ...s, instances: want.instances }).slice(s.instances);
    for (const p of added) if (await cluster.tcpAnswers(p)) throw new Error(`port ${p} is in use; nothing changed`);
    s.instances = want.instances;
    cluster.writeState(s, root);
    cluster.writePrograms(s, root);
    for (const p of added) {
      say(`starting switchboard-api-${p}`);
      supervisorctl(c, ['update', `switchboard-api-${p}`]);
      await waitUp(c, p);
      say(`switchboard-api-${p} answers /up`);
    }
    await reloadNginx(c);
    say(`nginx now sends to ${s.instances} api processes`);
  } else if (want.instances !== undefined && want.instances < s.instances) {
    const removed = cluster.apiPortsOf(s).slice(want.instances);
    s.instances = want.instances;
    cluster.writeState(s, root);
    await reloadNginx(c);
    say(`nginx now sends to ${s.instances} api processes; stopping ${removed.map((p) => `switchboard-api-${p}`).join(', ')} (each drains first)`);
    cluster.writePrograms(s, root);
    for (const p of removed) supervisorctl(c, ['update', `switchboard-api-${p}`]);
    say('done');
  }
  return 0;
}

/** @param {Running} c */
async function reloadNginx(c) {
  cluster.writeNginxSite(c.state, ROOT);
  const nginxDir = path.join(c.dir, 'nginx');
  await cluster.testNginx(c.tools, nginxDir);
  const r = supervisorctl(c, ['signal', 'HUP', 'nginx']);
  if (r.code !== 0) throw new Error(`nginx did not take the new configuration: ${r.out.trim()}`);
  await sleep(500);
}

/** The configuration schema of the build (dist/), to check values before any process gets them. */
function schema() {
  const file = path.join(ROOT, 'dist', 'config', 'env.schema.js');
  if (!fs.existsSync(file)) throw new Error('dist/ is not built (npm run build): env:set checks values against the configuration schema there');
  return require(file);
}

/** @param {Running} c @param {string[]} pairs */
function envSet(c, pairs) {
  if (!pairs.length) throw new UsageError('env:set needs KEY=VALUE arguments');
  const { envSchema, parseEnv } = schema();
  const known = new Set(Object.keys(envSchema.shape));
  const own = new Set(Object.values(cluster.SHIPPED).flatMap((f) => cluster.ownEnvironmentNames(fs.readFileSync(path.join(ROOT, f), 'utf8'))));
  /** @type {Record<string, string>} */
  const set = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const key = i > 0 ? pair.slice(0, i) : '';
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new UsageError(`${JSON.stringify(pair)} is not KEY=VALUE`);
    if (own.has(key)) throw new UsageError(`${key} is set per process by supervisor/*.conf, not by env:set`);
    if (!known.has(key)) throw new UsageError(`${key} is not a variable Switchboard reads (see .env.example)`);
    const value = pair.slice(i + 1);
    if (/["\r\n]/.test(value)) throw new UsageError(`${key}: a value with a double quote or a line break cannot go through supervisord's environment=`);
    set[key] = value;
  }
  try {
    parseEnv({ ...c.state.env, ...c.state.overrides, ...set });
  } catch (err) {
    throw new UsageError(`${/** @type {Error} */ (err).message}; nothing changed`);
  }
  c.state.overrides = { ...c.state.overrides, ...set };
  cluster.writeState(c.state, ROOT);
  cluster.writePrograms(c.state, ROOT);
  say(`${Object.keys(set).join(', ')} set for cluster "${c.state.name}" (until it stops; put them in .env too to keep them).`);
  say('Running processes keep their old values until `npm run cluster -- roll` (api processes one at a time).');
  return 0;
}

/** @param {Running} c @param {string[]} keys */
function envUnset(c, keys) {
  if (!keys.length) throw new UsageError('env:unset needs variable names');
  const missing = keys.filter((k) => !Object.prototype.hasOwnProperty.call(c.state.overrides, k));
  if (missing.length) throw new UsageError(`not set by env:set: ${missing.join(', ')}; nothing changed`);
  for (const k of keys) delete c.state.overrides[k];
  cluster.writeState(c.state, ROOT);
  cluster.writePrograms(c.state, ROOT);
  say(`${keys.join(', ')} unset; \`npm run cluster -- roll\` applies it`);
  return 0;
}

/** @param {Running} c */
function envShow(c) {
  const secret = /SECRET|PASSWORD|KEY|TOKEN/;
  for (const [k, v] of Object.entries(c.state.overrides)) process.stdout.write(`${k}=${secret.test(k) ? `(${v.length} characters)` : v}\n`);
  return 0;
}

const ROLL_PARTS = ['api', 'workers', 'scheduler'];

/**
 * Restarts programs with the configuration on disk: a program whose file changed (env:set, a new
 * shipped file) is updated (stopped, re-read, started), the others restarted. Api processes one at a
 * time, each back on /up before the next; a process that does not come back stops the roll.
 * @param {Running} c @param {string[]} parts
 */
async function roll(c, parts) {
  const wanted = parts.length ? parts : ROLL_PARTS;
  const bad = wanted.filter((p) => !ROLL_PARTS.includes(p));
  if (bad.length) throw new UsageError(`roll takes ${ROLL_PARTS.join(', ')} (got ${bad.join(', ')})`);
  cluster.writePrograms(c.state, ROOT);
  const reread = supervisorctl(c, ['reread']).out;
  const changed = new Set([...reread.matchAll(/^(\S+): changed$/gm)].map((m) => m[1]));
  const apply = (/** @type {string} */ group, /** @type {string} */ restartName) =>
    supervisorctl(c, changed.has(group) ? ['update', group] : ['restart', restartName]);
  if (wanted.includes('api')) {
    const ports = cluster.apiPortsOf(c.state);
    for (const [i, port] of ports.entries()) {
      const group = `switchboard-api-${port}`;
      say(`${group} (${i + 1}/${ports.length}): ${changed.has(group) ? 'new configuration, ' : ''}restarting (it drains first)`);
      const r = apply(group, group);
      if (r.code !== 0 && !/started|updated/.test(r.out)) throw new Error(`${group}: ${r.out.trim()}; stopped rolling`);
      await waitUp(c, port);
      say(`${group} answers /up`);
    }
  }
  if (wanted.includes('workers')) {
    say(`workers: ${changed.has('switchboard-worker') ? 'new configuration, ' : ''}restarting (each finishes its running job first)`);
    apply('switchboard-worker', 'switchboard-worker:*');
    const names = cluster.workerMetricsPortsOf(c.state).map((p) => `switchboard-worker:switchboard-worker-${p}`);
    await waitStatus(c, (running) => names.every((n) => running.includes(n)), 'every worker RUNNING');
  }
  if (wanted.includes('scheduler')) {
    say(`scheduler: ${changed.has('switchboard-scheduler') ? 'new configuration, ' : ''}restarting`);
    apply('switchboard-scheduler', 'switchboard-scheduler');
    await waitStatus(c, (running) => running.includes('switchboard-scheduler'), 'the scheduler RUNNING');
  }
  say(`rolled: ${wanted.join(', ')}`);
  return 0;
}

/* ------------------------------------------------------------------ CLI */

/** @param {string[]} argv */
function parse(argv) {
  /** @type {{ command?: string, rest: string[], cluster?: string, instances?: string, workers?: string }} */
  const out = { rest: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!out.command) {
      if (a.startsWith('--cluster=')) out.cluster = a.slice('--cluster='.length);
      else out.command = a;
      continue;
    }
    if (out.command === 'ctl') out.rest.push(a);
    else if (a.startsWith('--cluster=')) out.cluster = a.slice('--cluster='.length);
    else if (out.command === 'scale' && /^--(instances|workers)=/.test(a)) out[/** @type {'instances'|'workers'} */ (a.slice(2, a.indexOf('=')))] = a.slice(a.indexOf('=') + 1);
    else if (out.command === 'scale' && /^--(instances|workers)$/.test(a)) out[/** @type {'instances'|'workers'} */ (a.slice(2))] = argv[++i];
    else out.rest.push(a);
  }
  return out;
}

/** @param {string[]} argv */
async function main(argv) {
  const args = parse(argv);
  if (!args.command || args.command === 'help' || args.command === '--help' || args.command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return args.command ? 0 : 2;
  }
  const commands = ['status', 'ctl', 'scale', 'env:set', 'env:unset', 'env', 'roll'];
  if (!commands.includes(args.command)) throw new UsageError(`unknown command ${JSON.stringify(args.command)}`);
  if (args.command === 'scale' && args.rest.length) throw new UsageError(`scale takes --instances=N and --workers=N (got ${args.rest.join(' ')})`);
  const want = {
    instances: count(args.instances, '--instances', 1, cluster.MAX_INSTANCES),
    workers: count(args.workers, '--workers', 1, cluster.MAX_WORKERS),
  };
  const { running, why } = find(args.cluster);
  if (!running) throw new Error(why);
  switch (args.command) {
    case 'status':
      return status(running);
    case 'ctl':
      return ctl(running, args.rest);
    case 'env':
      return envShow(running);
    case 'scale':
      return locked(running, () => scale(running, want));
    case 'env:set':
      return locked(running, async () => envSet(running, args.rest));
    case 'env:unset':
      return locked(running, async () => envUnset(running, args.rest));
    default:
      return locked(running, () => roll(running, args.rest));
  }
}

module.exports = { find, scale, roll, runningNames, UsageError };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const usage = err instanceof UsageError;
      process.stderr.write(`[cluster] ${err && err.message ? err.message : err}\n${usage ? `${USAGE}\n` : ''}`);
      process.exitCode = usage ? 2 : 1;
    },
  );
}
