// npm run up: the local stack in the foreground. MariaDB primary + replica and Redis (own or given),
// migrations, then the api on PORT, one worker and the scheduler. Ctrl-C stops all of it; the data stays in .stack/.
const { spawn } = require('node:child_process');
const { join } = require('node:path');
const { ensure } = require('./ensure');
const { nextRestart, WINDOW_MS } = require('./restarts');
const { relaunchOnRequiredNode } = require('./runtime');

function parseArgs(argv) {
  const opts = { instances: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--instances(?:=(\d+))?$/.exec(a);
    if (m) opts.instances = Number(m[1] ?? argv[++i]);
    else throw new Error(`unknown option ${a} (usage: npm run up [-- --instances N])`);
  }
  if (!Number.isInteger(opts.instances) || opts.instances < 1 || opts.instances > 16) throw new Error('--instances takes a number from 1 to 16');
  return opts;
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
    const code = await cluster.run({ instances: opts.instances, port, env, root });
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
