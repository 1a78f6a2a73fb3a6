// npm run up: the local stack in the foreground. MariaDB primary + replica and Redis (own or given),
// migrations, then the api on PORT, one worker and the scheduler. Ctrl-C stops all of it; the data stays in .stack/.
// npm run up -- --instances N [--workers N]: cluster mode (scripts/cluster.js), named by SWITCHBOARD_CLUSTER
// (default dev); run again while it runs, it scales it (scripts/cluster-ctl.js).
const { spawn } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseEnv } = require('node:util');
const { ensure } = require('./ensure');
const { nextRestart, WINDOW_MS } = require('./restarts');
const { relaunchOnRequiredNode } = require('./runtime');

function parseArgs(argv) {
  /** @type {{ instances: number, workers?: number }} */
  const opts = { instances: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(instances|workers)(?:=(.*))?$/.exec(a);
    if (m) opts[m[1]] = Number(m[2] ?? argv[++i]);
    else throw new Error(`unknown option ${a} (usage: npm run up [-- --instances N [--workers N]])`);
  }
  if (!Number.isInteger(opts.instances) || opts.instances < 1 || opts.instances > 16) throw new Error('--instances takes a number from 1 to 16');
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 32)) throw new Error('--workers takes a number from 1 to 32');
  return opts;
}

/** Cluster mode's worker count: --workers, else SWITCHBOARD_WORKERS (environment, then .env), else the default. */
function workersWanted(opts, root, fallback) {
  if (opts.workers !== undefined) return opts.workers;
  let v = process.env.SWITCHBOARD_WORKERS;
  const file = join(root, '.env');
  if (v === undefined && existsSync(file)) v = parseEnv(readFileSync(file, 'utf8')).SWITCHBOARD_WORKERS;
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 32) throw new Error(`SWITCHBOARD_WORKERS must be a whole number from 1 to 32 (got ${JSON.stringify(v)})`);
  return n;
}

/**
 * `npm run up` while this checkout's cluster runs: a cluster start with another count scales it (api
 * processes added or removed one at a time, nginx reloaded), the same count says so; a single-process
 * `npm run up` would fight it for the port, so it says what to do instead.
 */
async function upWhileRunning(opts, clusterName, root) {
  const control = require('./cluster-ctl');
  const { running } = control.find(clusterName);
  if (!running) return null;
  const s = running.state;
  const where = `cluster "${s.name}" (nginx on :${s.port}, ${s.instances} api processes, ${s.workers} workers)`;
  if (opts.instances === 1) {
    throw new Error(`${where} is running in this checkout: stop it first (Ctrl-C in its terminal, or npm run down), or scale it: npm run cluster -- scale --instances=N`);
  }
  const workers = workersWanted(opts, root, s.workers);
  if (opts.instances === s.instances && workers === s.workers) {
    console.error(`[switchboard] ${where} is already running; nothing to change. npm run cluster -- status shows it; Ctrl-C in its terminal or npm run down stops it.`);
    return 0;
  }
  console.error(`[switchboard] ${where} is running: scaling it to ${opts.instances} api processes and ${workers} workers (it keeps running in its own terminal)`);
  return control.scale(running, { instances: opts.instances, workers });
}

function prefixed(child, name) {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(`${name} | ${line}\n`);
    });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  ensure();
  if (relaunchOnRequiredNode(__filename)) return;
  const clusterName = process.env.SWITCHBOARD_CLUSTER || 'dev';
  const scaled = await upWhileRunning(opts, clusterName, join(__dirname, '..'));
  if (scaled !== null) process.exit(scaled);
  const stack = require('./stack');
  const { services, migrate, root } = require('./services');
  const { env, own } = await services('dev', undefined, { dotEnv: true });
  migrate(env);
  const port = Number(process.env.PORT || 3000);
  /** @type {Map<string, import('node:child_process').ChildProcess>} the running child of each name */
  const children = new Map();
  /** @type {Map<string, number[]>} */
  const exits = new Map();
  // One process dying (a crash, an OOM kill) is not a reason to take the others and the stack down:
  // it is restarted, as Supervisor does in cluster mode. One that keeps dying stops everything, saying so.
  const launch = (name, args, extraEnv) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    prefixed(child, name);
    child.on('exit', (code, signal) => {
      process.stdout.write(`${name} | exited (${signal ?? code})\n`);
      if (stopping) return;
      const now = Date.now();
      const next = nextRestart(exits.get(name) ?? [], now);
      exits.set(name, [...(exits.get(name) ?? []), now].filter((t) => now - t < WINDOW_MS));
      if (!next.restart) {
        console.error(`[switchboard] ${name} exited ${next.recent} times within ${WINDOW_MS / 1000} s (last: ${signal ?? `code ${code}`}); not restarting it again. Stopping everything: see its output above.`);
        void stop(1);
        return;
      }
      console.error(`[switchboard] ${name} exited (${signal ?? `code ${code}`}); restarting it${next.delayMs ? ` in ${next.delayMs / 1000} s` : ''} (${next.recent} in the last ${WINDOW_MS / 1000} s). The other processes keep running.`);
      setTimeout(() => !stopping && launch(name, args, extraEnv), next.delayMs);
    });
    children.set(name, child);
  };
  if (opts.instances > 1) {
    const cluster = require('./cluster');
    const code = await cluster.run({ instances: opts.instances, workers: workersWanted(opts, root, cluster.DEFAULT_WORKERS), port, env, root, name: clusterName });
    if (own) await stack.down('dev');
    process.exit(code);
  }
  launch('api', [join(root, 'dist', 'main.js')], { PORT: String(port) });
  // The worker serves its own /metrics (job durations, wait times) on METRICS_PORT, 9464 unless set.
  const workerMetricsPort = process.env.METRICS_PORT || '9464';
  launch('worker', [join(root, 'bin', 'switchboard'), 'queue:work', '--queue=high,default'], { METRICS_PORT: workerMetricsPort });
  launch('scheduler', [join(root, 'bin', 'switchboard'), 'schedule:work'], {});
  console.error(`[switchboard] api on http://127.0.0.1:${port} (health: /up), one worker (metrics on :${workerMetricsPort}), the scheduler. Ctrl-C stops everything.`);

  let stopping = false;
  async function stop(code) {
    if (stopping) return;
    stopping = true;
    const running = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill('SIGTERM');
    await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
    if (own) await stack.down('dev');
    process.exit(code);
  }
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

main().catch((err) => {
  console.error(`[switchboard] ${err.message}`);
  process.exit(1);
});
