// @ts-check
'use strict';
/**
 * Two workers drain queues of their own AT THE SAME TIME, so the other work on a shared machine weighs on
 * both alike: worker CPU µs per job of each (/proc, its process tree, from its first completion to its
 * last) and their ratio per round. bench:queues runs the two sides one after the other, and on the shared
 * 2 cores a round moved by ±15-30 % between runs; side by side, a change of 3 % shows in every round.
 * Redis CPU is not split here (one server for both): bench:queues gives it.
 *
 *   node bench/queues/paired.js --a=ours@/path/to/other/checkout --b=ours [--rounds=5] [--concurrency=10] [--jobs=10000]
 *
 * A side is `kind[@checkout]`: kind `ours` (queue:work, every job announced), `none` (QUEUE_JOB_EVENTS=none)
 * or `bare` (bench/queues/bare-worker.js); the checkout (built) defaults to this one. The stack: BENCH_STACK
 * (default `bench`) and STACK_PORT_BASE, as bench:queues; the other checkout only lends its build.
 */
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { join } = require('node:path');
const { Queue } = require('bullmq');
const Redis = require('ioredis').default;
const { treeCpuUs } = require('./proc-cpu');

const root = join(__dirname, '..', '..');
/** @param {string} name @param {string} fallback */
const option = (name, fallback) => (process.argv.find((a) => a.startsWith(`--${name}=`)) ?? `=${fallback}`).split('=').slice(1).join('=');
const ROUNDS = Number(option('rounds', '5'));
const CONCURRENCY = Number(option('concurrency', '10'));
const JOBS = Number(option('jobs', '10000'));
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * A filled queue and, once launched, the worker draining it.
 * @param {string} side @param {Record<string, string>} env
 */
async function prepare(side, env) {
  const [kind, checkout = root] = side.split('@');
  if (!['ours', 'none', 'bare'].includes(kind)) throw new Error(`a side is ours|none|bare[@checkout], not ${side}`);
  const prefix = `paired${randomUUID().slice(0, 6)}:`;
  const bullPrefix = kind === 'bare' ? `${prefix}bull` : `${prefix}{bull}`;
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('default', { connection, prefix: bullPrefix });
  for (let i = 0; i < JOBS; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ name: 'queue:probe', data: { sleepMs: 0, fail: false } })));
  }
  const base = { ...process.env, ...env, LOG_LEVEL: 'error' };
  const launch = () =>
    kind === 'bare'
      ? spawn(process.execPath, [join(checkout, 'bench', 'queues', 'bare-worker.js')], {
          env: { ...base, BARE_PREFIX: bullPrefix, BARE_QUEUES: 'default', BARE_CONCURRENCY: String(CONCURRENCY) },
          stdio: ['ignore', 'ignore', 'inherit'],
        })
      : spawn(process.execPath, [join(checkout, 'bin', 'switchboard'), 'queue:work', '--queue=high,default', `--concurrency=${CONCURRENCY}`, '--timeout=0'], {
          cwd: checkout,
          env: { ...base, REDIS_PREFIX: prefix, QUEUE_JOB_EVENTS: kind === 'none' ? 'none' : 'all' },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
  return { side, queue, connection, launch };
}

/** @param {Record<string, string>} env @param {string[]} sides */
async function round(env, sides) {
  const runs = [];
  for (const side of sides) runs.push(await prepare(side, env));
  const workers = runs.map((r) => {
    const child = r.launch();
    return { ...r, child, exited: new Promise((done) => child.once('exit', done)), first: { done: 0, cpu: 0 }, last: { done: 0, cpu: 0 }, started: false, finished: false };
  });
  while (workers.some((w) => !w.finished)) {
    for (const w of workers.filter((x) => !x.finished)) {
      const done = await w.queue.getCompletedCount();
      const pid = /** @type {number} */ (w.child.pid);
      if (done > 0 && !w.started) [w.started, w.first] = [true, { done, cpu: treeCpuUs(pid) }];
      if (done >= JOBS) [w.finished, w.last] = [true, { done, cpu: treeCpuUs(pid) }];
    }
    await sleep(20);
  }
  /** @type {Record<string, number>} */
  const usPerJob = {};
  for (const w of workers) {
    usPerJob[w.side] = Math.round((w.last.cpu - w.first.cpu) / Math.max(1, w.last.done - w.first.done));
    w.child.kill('SIGTERM');
    await w.exited;
    await w.queue.obliterate({ force: true }).catch(() => undefined);
    await w.queue.close();
    await w.connection.quit();
  }
  return usPerJob;
}

async function main() {
  const a = option('a', 'ours');
  const b = option('b', 'ours');
  if (a === b) throw new Error('--a and --b name the same side');
  const { services } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(process.env.BENCH_STACK || 'bench');
  /** @type {Record<string, number[]>} */
  const us = { [a]: [], [b]: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const got = await round(env, r % 2 ? [b, a] : [a, b]);
    us[a].push(got[a]);
    us[b].push(got[b]);
    console.log(JSON.stringify({ part: 'paired-round', round: r, concurrency: CONCURRENCY, jobs: JOBS, workerUsPerJob: got, ratio: +(got[b] / got[a]).toFixed(3) }));
  }
  const ratios = us[a].map((x, i) => +(us[b][i] / x).toFixed(3));
  console.log(
    `concurrency ${CONCURRENCY}, ${JOBS} jobs, ${ROUNDS} rounds side by side: worker CPU µs/job ${a} ${median(us[a])} (${us[a].join(' ')}), ` +
      `${b} ${median(us[b])} (${us[b].join(' ')}); b/a per round ${ratios.join(' ')}, median ${median(ratios)}`,
  );
}

if (!require(join(root, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename)) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
