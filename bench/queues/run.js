// Queue benchmark: our queue:work beside a bare BullMQ Worker, in the same run.
//  1. trivial jobs/s end to end (a pre-filled queue drained) at concurrency 1, 10, 50; ours twice: as it runs by
//     default (QUEUE_JOB_EVENTS=heard: the probes have no owner and nobody listens to their queue, so none is
//     announced) and with every job announced (job:started/completed, QUEUE_JOB_EVENTS=all); beside
//     each rate the CPU µs per job of the worker process and of the Redis server (/proc/<pid>/stat), which
//     hold on a loaded machine where the rates do not;
//     and a floor: the bare Worker printing a line per job as queue:work must (SPEC), the best ours can reach;
//  2. the wait of `high` jobs (added every BENCH_HIGH_EVERY_MS) while `default` holds a 20,000-job backlog.
// Both sides run in a child process of their own (bare: bench/queues/bare-worker.js; ours: bin/switchboard
// queue:work), started the same way; BENCH_BARE_IN_PROCESS=1 runs the bare Worker inside this process instead
// (warm JIT, no extra process: how runs before 2026-11-24 21:10 UTC measured it).
// Usage: npm run build && node bench/queues/run.js   (knobs: BENCH_STACK, BENCH_JOBS, BENCH_ROUNDS, BENCH_BACKLOG, BENCH_ONLY=throughput|priority,
// BENCH_CONCURRENCY=1,10,50, BENCH_OURS_ENV='{"QUEUE_DISPATCH_WAIT_MS":"0"}', BENCH_SECOND_EVENTS=all|none|owned, BENCH_CPU_PROF=1, BENCH_JOBS_C1 (jobs of a
// concurrency-1 drain: min(BENCH_JOBS, 3000) by default); STACK_REDIS=sentinel runs it on a Sentinel set)
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { existsSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { Queue, Worker } = require('bullmq');
const Redis = require('ioredis');

const root = join(__dirname, '..', '..');
const JOBS = Number(process.env.BENCH_JOBS || 5000);
const BACKLOG = Number(process.env.BENCH_BACKLOG || 20000);
const HIGH_EVERY_MS = Number(process.env.BENCH_HIGH_EVERY_MS || 50);
const ONLY = process.env.BENCH_ONLY || '';
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY || '1,10,50').split(',').map(Number);
// Extra environment for our worker only, e.g. '{"QUEUE_DISPATCH_WAIT_MS":"0"}' to compare without the completion WAIT.
const OURS_ENV = JSON.parse(process.env.BENCH_OURS_ENV || '{}');
const BARE_IN_PROCESS = process.env.BENCH_BARE_IN_PROCESS === '1';
// Ours' second variant (QUEUE_JOB_EVENTS): `all` (every job announced) unless BENCH_SECOND_EVENTS says otherwise (e.g. none).
const SECOND_EVENTS = process.env.BENCH_SECOND_EVENTS || 'all';
// Bare and ours alternate this many times per concurrency; the medians are reported (one drain is ~1 s: noisy).
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 3));
// Backlog jobs take this long each, so the backlog lasts long enough to sample many high jobs.
const BACKLOG_JOB_MS = Number(process.env.BENCH_BACKLOG_JOB_MS || 5);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// BENCH_CPU_PROF=1: each worker process profiled over the middle of its drain (bench/http/cpu-profile.js), files in
// $TMPDIR/switchboard-bench-profiles/ with the number of jobs completed in the window printed beside them.
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const PROFILE_DIR = join(require('node:os').tmpdir(), 'switchboard-bench-profiles');
if (CPU_PROF) mkdirSync(PROFILE_DIR, { recursive: true });
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

async function fill(queue, n, sleepMs = 0) {
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, () => ({ name: 'queue:probe', data: { sleepMs, fail: false } }));
    await queue.addBulk(batch);
  }
}

const { treeCpuUs } = require('./proc-cpu');

/** The Redis server's pid (same machine: the stack's redis-server), from INFO. */
async function redisPid(redis) {
  return Number(/process_id:(\d+)/.exec(await redis.info('server'))[1]);
}

/**
 * Time from the first completed job to the n-th, polling the completed count, and the CPU the worker
 * process (tree) and the Redis server used per job over the same span (µs; the jobs completed in it).
 */
async function drainTime(queue, n, pids, timeoutMs = 600000, profiled) {
  const deadline = Date.now() + timeoutMs;
  const cpu = () => ({ worker: treeCpuUs(pids.worker), redis: treeCpuUs(pids.redis) });
  let first;
  for (;;) {
    const done = await queue.getCompletedCount();
    if (profiled) profiled.poll(done, n);
    if (done > 0 && !first) first = { at: Date.now(), done, cpu: cpu() };
    if (done >= n) {
      const end = cpu();
      const jobs = Math.max(1, done - first.done);
      return { seconds: (Date.now() - first.at) / 1000, workerUs: (end.worker - first.cpu.worker) / jobs, redisUs: (end.redis - first.cpu.redis) / jobs };
    }
    if (Date.now() > deadline) throw new Error(`only ${done}/${n} jobs done in ${timeoutMs} ms`);
    await sleep(10);
  }
}

function startChild(args, env, name = 'worker') {
  const profileFile = CPU_PROF ? join(PROFILE_DIR, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`) : undefined;
  const profiling = profileFile ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} -r ${join(root, 'bench', 'http', 'cpu-profile.js')}`.trim(), BENCH_CPU_PROF_FILE: profileFile, BENCH_CPU_PROF_WINDOW: '1' } : {};
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, ...profiling, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const profiled = profileFile ? windowProfile(child, name, profileFile) : undefined;
  return {
    child,
    profiled,
    stop: async () => {
      // A profile is written after its second SIGUSR2: give it the time to land before the child is stopped.
      for (let i = 0; profiled?.stopped() && i < 100 && !existsSync(profileFile) && child.exitCode === null; i++) await sleep(50);
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * BENCH_CPU_PROF=1: the child's CPU profile over the middle of its drain (from 10 % of the jobs done to 90 %),
 * and how many jobs completed in it, to divide the profile's time by.
 */
function windowProfile(child, name, file) {
  let startedAt;
  let stopped = false;
  return {
    stopped: () => stopped,
    poll(done, n) {
      if (startedAt === undefined && done >= n * 0.1) {
        startedAt = done;
        child.kill('SIGUSR2');
      } else if (startedAt !== undefined && !stopped && done >= n * 0.9) {
        stopped = true;
        child.kill('SIGUSR2');
        console.error(`[bench:queues] CPU profile of ${name}: ${file} (${done - startedAt} jobs completed while it ran)`);
      }
    },
  };
}

function startOurs(env, args, name = 'ours') {
  return startChild([join(root, 'bin', 'switchboard'), 'queue:work', ...args], env, name);
}

/** A bare BullMQ Worker per queue with a no-op (or sleepMs) processor: a child process, or in this one (BENCH_BARE_IN_PROCESS; the floor, `jobLines`, is always a child: its lines go to the child's stdout). */
function startBare(redisUrl, prefix, queues, concurrency, jobLines = false) {
  if (!BARE_IN_PROCESS || jobLines) {
    return startChild(
      [join(__dirname, 'bare-worker.js')],
      {
        REDIS_URL: redisUrl,
        BARE_PREFIX: prefix,
        BARE_QUEUES: queues.join(','),
        BARE_CONCURRENCY: String(concurrency),
        BARE_JOB_LINES: jobLines ? '1' : '0',
      },
      jobLines ? `floor-c${concurrency}` : `bare-c${concurrency}`,
    );
  }
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const processor = async (job) => {
    if (job.data.sleepMs) await sleep(job.data.sleepMs);
  };
  const workers = queues.map((q) => new Worker(q, processor, { connection: conn.duplicate(), prefix, concurrency }));
  return {
    stop: async () => {
      await Promise.all(workers.map((w) => w.close()));
      await conn.quit();
    },
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function throughput(env, redisUrl) {
  const rows = [];
  for (const c of CONCURRENCIES) {
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await throughputRound(env, redisUrl, c));
    const row = {
      concurrency: c,
      jobs: rounds[0].jobs,
      rounds: ROUNDS,
      bareJobsPerS: Math.round(median(rounds.map((r) => r.bareJobsPerS))),
      oursJobsPerS: Math.round(median(rounds.map((r) => r.oursJobsPerS))),
      ratio: +median(rounds.map((r) => r.ratio)).toFixed(2),
      ratios: rounds.map((r) => r.ratio),
      floorJobsPerS: Math.round(median(rounds.map((r) => r.floorJobsPerS))),
      floorRatio: +median(rounds.map((r) => r.floorRatio)).toFixed(2),
      floorRatios: rounds.map((r) => r.floorRatio),
      oursAllJobsPerS: Math.round(median(rounds.map((r) => r.oursAllJobsPerS))),
      allRatio: +median(rounds.map((r) => r.allRatio)).toFixed(2),
      allRatios: rounds.map((r) => r.allRatio),
      cpuRatio: +median(rounds.map((r) => r.cpuRatio)).toFixed(2),
      allCpuRatio: +median(rounds.map((r) => r.allCpuRatio)).toFixed(2),
      ...Object.fromEntries(
        ['bareCpu', 'floorCpu', 'oursCpu', 'oursAllCpu'].map((k) => [k, { worker: median(rounds.map((r) => r[k].worker)), redis: median(rounds.map((r) => r[k].redis)) }]),
      ),
    };
    rows.push(row);
    console.log(JSON.stringify({ part: 'throughput', ...row }));
  }
  return rows;
}

async function throughputRound(env, redisUrl, c) {
  const n = c === 1 ? Number(process.env.BENCH_JOBS_C1 || Math.min(JOBS, 3000)) : JOBS;
  const control = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const redis = await redisPid(control);
  await control.quit();
  // bare BullMQ: one Worker (its own process unless BENCH_BARE_IN_PROCESS=1, then this process's CPU counts)
  const barePrefix = `bench${randomUUID().slice(0, 6)}:bull`;
  const bareConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const bareQueue = new Queue('default', { connection: bareConn, prefix: barePrefix });
  await fill(bareQueue, n);
  const bare = startBare(redisUrl, barePrefix, ['default'], c);
  const bareRun = await drainTime(bareQueue, n, { worker: bare.child ? bare.child.pid : process.pid, redis }, undefined, bare.profiled);
  await bare.stop();
  await bareQueue.obliterate({ force: true });
  // the floor: the same bare Worker, also printing a line per job (what any queue:work that prints as artisan pays)
  await fill(bareQueue, n);
  const floor = startBare(redisUrl, barePrefix, ['default'], c, true);
  const floorRun = await drainTime(bareQueue, n, { worker: floor.child.pid, redis }, undefined, floor.profiled);
  await floor.stop();
  await bareQueue.obliterate({ force: true });
  await bareQueue.close();
  await bareConn.quit();

  // ours: bin/switchboard queue:work (child process), same jobs through the handler registry, as it runs by
  // default (QUEUE_JOB_EVENTS=heard: the probes have no owner and nobody listens to the queue, so none is
  // announced) and with every job announced (QUEUE_JOB_EVENTS=all: the default before 2026-12-06)
  const ours = {};
  for (const events of ['heard', SECOND_EVENTS]) {
    const prefix = `bench${randomUUID().slice(0, 6)}:`;
    const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('default', { connection: conn, prefix: `${prefix}{bull}` });
    await fill(queue, n);
    const worker = startOurs({ ...env, ...OURS_ENV, REDIS_PREFIX: prefix, QUEUE_JOB_EVENTS: events }, ['--queue=high,default', `--concurrency=${c}`, '--timeout=0'], `ours-${events}-c${c}`);
    ours[events] = await drainTime(queue, n, { worker: worker.child.pid, redis }, undefined, worker.profiled);
    await worker.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    await conn.quit();
  }
  const us = (x) => Math.round(x);
  const row = {
    concurrency: c,
    jobs: n,
    bareJobsPerS: Math.round(n / bareRun.seconds),
    floorJobsPerS: Math.round(n / floorRun.seconds),
    oursJobsPerS: Math.round(n / ours.heard.seconds),
    oursAllJobsPerS: Math.round(n / ours[SECOND_EVENTS].seconds),
    // CPU µs per job: the worker process, the Redis server
    bareCpu: { worker: us(bareRun.workerUs), redis: us(bareRun.redisUs) },
    floorCpu: { worker: us(floorRun.workerUs), redis: us(floorRun.redisUs) },
    oursCpu: { worker: us(ours.heard.workerUs), redis: us(ours.heard.redisUs) },
    oursAllCpu: { worker: us(ours[SECOND_EVENTS].workerUs), redis: us(ours[SECOND_EVENTS].redisUs) },
  };
  row.ratio = +(row.oursJobsPerS / row.bareJobsPerS).toFixed(2);
  row.floorRatio = +(row.floorJobsPerS / row.bareJobsPerS).toFixed(2);
  row.allRatio = +(row.oursAllJobsPerS / row.bareJobsPerS).toFixed(2);
  // On two shared cores worker + Redis CPU per job is what bounds the rate: bare's total over ours.
  row.cpuRatio = +((bareRun.workerUs + bareRun.redisUs) / (ours.heard.workerUs + ours.heard.redisUs)).toFixed(2);
  row.allCpuRatio = +((bareRun.workerUs + bareRun.redisUs) / (ours[SECOND_EVENTS].workerUs + ours[SECOND_EVENTS].redisUs)).toFixed(2);
  console.log(JSON.stringify({ part: 'throughput-round', ...row }));
  return row;
}

/** Adds a high job every HIGH_EVERY_MS while the default backlog drains; wait = processedOn - timestamp. */
async function highWait(label, highQueue, defaultQueue) {
  const ids = [];
  while ((await defaultQueue.getWaitingCount()) > BACKLOG * 0.1) {
    const j = await highQueue.add('queue:probe', { sleepMs: 0, fail: false });
    ids.push(j.id);
    await sleep(HIGH_EVERY_MS);
  }
  await sleep(500);
  const waits = [];
  for (const id of ids) {
    const j = await highQueue.getJob(id);
    if (j && j.processedOn) waits.push(j.processedOn - j.timestamp);
  }
  const row = { part: 'priority', target: label, highJobs: ids.length, measured: waits.length, p50ms: pct(waits, 50), p99ms: pct(waits, 99), maxms: Math.max(...waits) };
  console.log(JSON.stringify(row));
  return row;
}

async function priority(env, redisUrl) {
  const out = [];
  const concurrency = Number(process.env.BENCH_PRIORITY_CONCURRENCY || 10);
  // bare: the usual BullMQ set-up, one Worker per queue (no cross-queue order exists there)
  {
    const prefix = `bench${randomUUID().slice(0, 6)}:bull`;
    const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const high = new Queue('high', { connection: conn, prefix });
    const def = new Queue('default', { connection: conn, prefix });
    await fill(def, BACKLOG, BACKLOG_JOB_MS);
    const bare = startBare(redisUrl, prefix, ['high', 'default'], concurrency);
    while ((await def.getWaitingCount()) >= BACKLOG) await sleep(20);
    out.push(await highWait(`bare BullMQ (a Worker per queue, concurrency ${concurrency} each)`, high, def));
    await bare.stop();
    for (const q of [high, def]) {
      await q.obliterate({ force: true });
      await q.close();
    }
    await conn.quit();
  }
  {
    const prefix = `bench${randomUUID().slice(0, 6)}:`;
    const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const high = new Queue('high', { connection: conn, prefix: `${prefix}{bull}` });
    const def = new Queue('default', { connection: conn, prefix: `${prefix}{bull}` });
    await fill(def, BACKLOG, BACKLOG_JOB_MS);
    const ours = startOurs({ ...env, REDIS_PREFIX: prefix }, ['--queue=high,default', `--concurrency=${concurrency}`, '--timeout=0']);
    await sleep(200);
    // wait for the worker to start draining before sampling
    while ((await def.getWaitingCount()) >= BACKLOG) await sleep(20);
    out.push(await highWait(`ours (queue:work --queue=high,default --concurrency=${concurrency})`, high, def));
    await ours.stop();
    for (const q of [high, def]) {
      await q.obliterate({ force: true });
      await q.close();
    }
    await conn.quit();
  }
  return out;
}

async function sentinelPrimaryUrl(env) {
  const [host, port] = env.REDIS_SENTINELS.split(',')[0].split(':');
  const sentinel = new Redis({ host, port: Number(port) });
  const [ph, pp] = await sentinel.call('SENTINEL', 'get-master-addr-by-name', env.REDIS_SENTINEL_NAME || 'switchboard');
  sentinel.disconnect(); // a sentinel does not know QUIT
  return `redis://${ph}:${pp}`;
}

async function main() {
  let env = {};
  let stop = async () => undefined;
  if (!process.env.REDIS_URL) {
    const { services } = require(join(root, 'scripts', 'services.js'));
    const name = process.env.BENCH_STACK || 'bench';
    ({ env } = await services(name));
    if (!process.env.BENCH_KEEP_STACK) stop = () => require(join(root, 'scripts', 'stack.js')).down(name);
  }
  // On a Sentinel stack (STACK_REDIS=sentinel) the queues, the bare worker and the CPU figures are the
  // primary's: ours follows the sentinels, the rest is pointed at the primary they name now.
  const redisUrl = env.REDIS_SENTINELS ? await sentinelPrimaryUrl(env) : env.REDIS_URL || process.env.REDIS_URL;
  const started = Date.now();
  const results = {};
  if (!ONLY || ONLY === 'throughput') results.throughput = await throughput(env, redisUrl);
  if (!ONLY || ONLY === 'priority') results.priority = await priority(env, redisUrl);
  console.log('\n## Summary');
  for (const r of results.throughput || []) {
    console.log(
      `concurrency ${String(r.concurrency).padStart(2)}: bare ${r.bareJobsPerS} jobs/s, ours ${r.oursJobsPerS} jobs/s, ours/bare ${r.ratio} (medians of ${r.rounds} rounds; ratios ${r.ratios.join(' ')}); ` +
        `ours with QUEUE_JOB_EVENTS=${SECOND_EVENTS} ${r.oursAllJobsPerS} jobs/s, ${r.allRatio} (${r.allRatios.join(' ')}); ` +
        `floor (bare + a line per job) ${r.floorJobsPerS} jobs/s, ${r.floorRatio} (${r.floorRatios.join(' ')})`,
    );
    const cpu = (x) => `worker ${x.worker} + Redis ${x.redis} = ${x.worker + x.redis}`;
    console.log(
      `  CPU µs/job (medians): bare ${cpu(r.bareCpu)}; floor ${cpu(r.floorCpu)}; ours ${cpu(r.oursCpu)} (bare/ours ${r.cpuRatio}); ours with ${SECOND_EVENTS} ${cpu(r.oursAllCpu)} (${r.allCpuRatio})`,
    );
  }
  for (const r of results.priority || []) console.log(`high wait under a ${BACKLOG}-job default backlog, ${r.target}: p50 ${r.p50ms} ms, p99 ${r.p99ms} ms (${r.measured} high jobs)`);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await stop();
}

if (!require(join(root, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename)) main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
