// @ts-check
'use strict';
/**
 * worker-deploy: every worker replaced one at a time (`supervisorctl restart`: SIGTERM, the worker
 * finishes its running jobs, exits 0, a new one starts) while `--jobs` (default 2,000) probe jobs
 * and long analyses are queued and running on both queues, with the socket load on top. Every job
 * must complete exactly once (BullMQ's attemptsStarted = 1: no job was started twice) and none may
 * wait longer than the job timeout plus one restart.
 */
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Load, sleep } = require('../lib/load');
const { loadGuarantees } = require('../lib/checks');
const { ROOT } = require('../lib/topology');
const { request } = require('../lib/http');

const JOB_TIMEOUT_S = 60;

function probe(env, queue, count, sleepMs) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'switchboard'), 'queue:probe', `--queue=${queue}`, `--count=${count}`, `--sleep=${sleepMs}`, '--json'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`queue:probe failed: ${r.stderr || r.stdout}`);
  const line = r.stdout.trim().split('\n').find((l) => l.startsWith('['));
  return /** @type {{queue: string, id: string}[]} */ (JSON.parse(line ?? '[]'));
}

async function run({ cluster, env, opts, log }) {
  const { Queue } = require(path.join(ROOT, 'node_modules', 'bullmq'));
  const jobs = opts.jobs ?? 2000;
  const load = new Load(cluster.url, { clients: opts.clients ?? 200, rate: opts.rate ?? 20, analysesPerSecond: 0, log });
  // The app's BullMQ prefix (core/queue/queue.keys.ts): hash-tagged so a queue's keys share a Cluster slot.
  const prefix = `${env.REDIS_PREFIX ?? 'sb:'}{bull}`;
  const queues = { high: new Queue('high', { connection: { url: env.REDIS_URL }, prefix }), default: new Queue('default', { connection: { url: env.REDIS_URL }, prefix }) };
  try {
    await load.start();
    // Long analyses (10 stations of ANALYSIS_STATION_MS each) through the API, on both queues.
    const { users, projects } = load.fixtures;
    const analyses = [];
    for (let i = 0; i < Math.min(20, Math.max(4, jobs / 100)); i++) {
      const p = projects[i % projects.length];
      // Members take turns: one user may have only MAX_ACTIVE_ANALYSES_PER_USER (5) running.
      const starter = p.memberIdx[Math.floor(i / projects.length) % p.memberIdx.length];
      let r = await request(cluster.url, { method: 'POST', path: `/api/projects/${p.id}/analyses`, token: users[starter].token, body: { priority: i % 2 ? 'high' : 'default', stations: 10 } });
      // Analyses have a per-user limit of their own: wait as told, as a client would.
      for (let tries = 0; r.status === 429 && tries < 30; tries++) {
        await sleep(Math.max(1, Number(r.headers['retry-after']) || 1) * 1000);
        r = await request(cluster.url, { method: 'POST', path: `/api/projects/${p.id}/analyses`, token: users[starter].token, body: { priority: i % 2 ? 'high' : 'default', stations: 10 } });
      }
      if (r.status !== 202) throw new Error(`analysis: HTTP ${r.status}`);
      analyses.push({ queue: r.body.queue, id: String(r.body.jobId) });
    }
    const probes = [...probe(env, 'high', Math.floor(jobs * 0.3), 20), ...probe(env, 'default', jobs - Math.floor(jobs * 0.3) - analyses.length, 20)];
    const all = [...analyses, ...probes];
    log(`${all.length} jobs queued (${analyses.length} analyses of 10 stations)`);
    const from = Date.now();
    const restarts = [];
    for (const metricsPort of cluster.workerMetricsPorts) {
      await sleep(3000);
      const program = `switchboard-worker:switchboard-worker-${metricsPort}`;
      const oldPid = await cluster.pidOf(program);
      const t = Date.now();
      await cluster.ctl(['restart', program], 180000);
      restarts.push({ program, oldPid, newPid: await cluster.pidOf(program), ms: Date.now() - t });
      log(`worker ${metricsPort} replaced in ${Date.now() - t} ms`);
    }
    const to = Date.now();
    // Wait for the queues to drain.
    const deadline = Date.now() + 600000;
    let counts = {};
    while (Date.now() < deadline) {
      const [h, d] = await Promise.all([queues.high.getJobCounts(), queues.default.getJobCounts()]);
      counts = { high: h, default: d };
      if (h.waiting + h.active + h.delayed + h.prioritized + d.waiting + d.active + d.delayed + d.prioritized === 0) break;
      await sleep(1000);
    }
    const figures = await load.stop({ window: [from, to] });
    const states = {};
    let startedTwice = 0;
    let maxWaitMs = 0;
    let maxTotalMs = 0;
    const startTimes = [];
    for (const { queue, id } of all) {
      const job = await queues[queue].getJob(id);
      const state = job ? await job.getState() : 'missing';
      states[state] = (states[state] ?? 0) + 1;
      if (!job) continue;
      if ((job.attemptsStarted ?? 0) > 1) startedTwice++;
      if (job.processedOn) startTimes.push(job.processedOn);
      if (job.processedOn) maxWaitMs = Math.max(maxWaitMs, job.processedOn - job.timestamp);
      if (job.finishedOn) maxTotalMs = Math.max(maxTotalMs, job.finishedOn - job.timestamp);
    }
    const longestRestartMs = Math.max(...restarts.map((r) => r.ms));
    // The queues never stood still longer than a job timeout plus one restart while jobs waited.
    startTimes.sort((a, b) => a - b);
    let maxStartGapMs = 0;
    for (let i = 1; i < startTimes.length; i++) maxStartGapMs = Math.max(maxStartGapMs, startTimes[i] - startTimes[i - 1]);
    return {
      figures: { ...figures, jobs: all.length, states, startedTwice, maxWaitMs, maxTotalMs, maxStartGapMs, restarts, queueCounts: counts },
      guarantees: {
        ...loadGuarantees(figures),
        everyJobCompleted: states.completed === all.length,
        noJobStartedTwice: startedTwice === 0,
        noStallLongerThanTimeoutPlusRestart: maxStartGapMs <= JOB_TIMEOUT_S * 1000 + longestRestartMs,
      },
    };
  } finally {
    load.kill();
    await Promise.all(Object.values(queues).map((q) => q.close()));
  }
}

module.exports = { run };
