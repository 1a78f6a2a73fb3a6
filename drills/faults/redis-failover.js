// @ts-check
'use strict';
/**
 * redis-failover: the Redis primary fails over under the full load (1,000 sockets on /chat,
 * /realtime and /notifications through nginx and 3 api processes, 100 SSE clients, 100 msg/s, HTTP
 * users, analyses on both queues worked by 2 workers). `--topology=sentinel` (primary + 2 replicas +
 * 3 sentinels) or `--topology=cluster` (3 masters + 3 replicas), chosen in run.js through STACK_REDIS;
 * `--fault=kill` (default: kill -9 of the primary, or on a Cluster of the master holding the queues'
 * slot) or `--fault=failover` (SENTINEL FAILOVER). The old node is started again afterwards.
 *
 * Figures: the window (first failed request → last failed request through nginx), requests
 * succeeded/failed, jobs acknowledged (202) = completed, each once (BullMQ attemptsStarted = 1), and
 * the clients' accounting (published, delivered, recovered, told to refetch, silent, duplicates).
 */
const path = require('node:path');
const { Load, sleep } = require('../lib/load');
const { loadGuarantees } = require('../lib/checks');
const { ROOT } = require('../lib/topology');

const topo = () => require(path.join(ROOT, 'scripts', 'redis-topology.js'));

/**
 * A connection to the topology the stack runs, made by the app's own factory (dist/): a plain ioredis
 * Sentinel client hit the same ioredis race the factory works around (ended for good by +switch-master
 * during a reconnect) and the drill lost its accounting.
 */
function redisFor(env) {
  const { createRedis } = require(path.join(ROOT, 'dist', 'core', 'redis', 'redis.factory.js'));
  const hosts = (list) => list?.split(',').map((h) => ({ host: h.split(':')[0], port: Number(h.split(':')[1]) }));
  const config = { url: env.REDIS_URL, sentinels: hosts(env.REDIS_SENTINELS), sentinelName: env.REDIS_SENTINEL_NAME ?? 'mymaster', clusterNodes: hosts(env.REDIS_CLUSTER_NODES), prefix: env.REDIS_PREFIX ?? 'sb:' };
  return createRedis(config, { name: 'drill', failFast: false });
}

/** Port of the cluster master holding `tag`'s slot. */
async function slotOwner(cfg, tag) {
  const t = topo();
  const first = String(t.nodes(cfg, 'cluster')[0].port);
  const slot = Number((await t.cli(['-p', first, 'CLUSTER', 'KEYSLOT', tag])).trim());
  const lines = (await t.cli(['-p', first, 'CLUSTER', 'NODES'])).trim().split('\n').map((l) => l.split(' '));
  const line = lines.find((f) => f[2].includes('master') && !f[2].includes('fail') && f.slice(8).some((r) => { const [lo, hi = lo] = r.split('-').map(Number); return slot >= lo && slot <= hi; }));
  if (!line) throw new Error(`no master holds slot ${slot}`);
  return Number(line[1].split(':')[1].split('@')[0]);
}

async function waitUntil(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

async function run({ cluster, env, stackName, opts, log }) {
  const { Queue } = require(path.join(ROOT, 'node_modules', 'bullmq'));
  const t = topo();
  const topology = env.STACK_REDIS ?? process.env.STACK_REDIS ?? 'single';
  if (topology === 'single') throw new Error('redis-failover needs --topology=sentinel or --topology=cluster');
  const fault = opts.fault ?? 'kill';
  const cfg = require(path.join(ROOT, 'scripts', 'stack.js')).config(stackName);
  const connection = redisFor(env);
  const prefix = `${env.REDIS_PREFIX ?? 'sb:'}{bull}`;
  const queues = { high: new Queue('high', { connection, prefix }), default: new Queue('default', { connection, prefix }) };
  const load = new Load(cluster.url, { clients: opts.clients ?? 1000, rate: opts.rate ?? 100, analysesPerSecond: opts.jobs ?? 5, log });
  try {
    await load.start();
    await sleep(5000);
    const victim = topology === 'cluster' ? await slotOwner(cfg, 'bull') : await t.currentPrimary(cfg);
    const faultAt = Date.now();
    if (fault === 'failover') {
      if (topology !== 'sentinel') throw new Error('--fault=failover is SENTINEL FAILOVER: sentinel only');
      const sentinel = t.nodes(cfg, 'sentinel').find((n) => n.role === 'sentinel');
      await t.cli(['-p', String(sentinel.port), 'SENTINEL', 'FAILOVER', t.SENTINEL_NAME]);
      log(`SENTINEL FAILOVER (primary was ${victim})`);
    } else {
      await t.killNode(cfg, victim, 'SIGKILL');
      log(`kill -9 of redis ${topology === 'cluster' ? 'master' : 'primary'} ${victim}`);
    }
    // Promotion: the sentinels name another primary / the cluster has every slot served again.
    await waitUntil(
      async () => (topology === 'cluster' ? (await slotOwner(cfg, 'bull')) !== victim : (await t.currentPrimary(cfg)) !== victim),
      60000,
      'promotion',
    );
    const promotedMs = Date.now() - faultAt;
    log(`promoted after ${promotedMs} ms`);
    // Full service: every api process says /up 200 (redis included) again. Not reaching it is a
    // figure (null, with what /up said), not a reason to skip the accounting.
    const lastUp = {};
    const upAgainMs = await waitUntil(
      async () =>
        (
          await Promise.all(
            cluster.apiPorts.map((p) =>
              fetch(`http://127.0.0.1:${p}/up`, { signal: AbortSignal.timeout(2000) }).then(
                async (r) => ((lastUp[p] = `${r.status} ${(await r.text()).slice(0, 300)}`), r.status === 200),
                (err) => ((lastUp[p] = String(err.message)), false),
              ),
            ),
          )
        ).every(Boolean),
      60000,
      'every api /up 200',
    ).then(
      () => Date.now() - faultAt,
      () => null,
    );
    log(upAgainMs === null ? `not every api answered /up 200 within 60 s: ${JSON.stringify(lastUp)}` : `every api /up 200 after ${upAgainMs} ms`);
    await sleep(10000);
    const figures = await load.stop({ window: [faultAt, faultAt + (upAgainMs ?? 60000)] });
    // Heal: the old node comes back (as a replica) for the next drill.
    if (fault === 'kill') await t.startNode(cfg, victim);
    if (topology === 'cluster') await t.waitClusterOk(t.nodes(cfg, 'cluster'), 60000);

    // Jobs: every acknowledged analysis ran to completion, once.
    const acked = figures.analyses.map((a) => ({ queue: a.queue, id: String(a.jobId) }));
    const jobState = async () => {
      const states = {};
      let startedTwice = 0;
      let retriedAfterFailure = 0;
      const twice = [];
      for (const { queue, id } of acked) {
        const job = await queues[queue].getJob(id);
        const state = job ? await job.getState() : 'missing';
        states[state] = (states[state] ?? 0) + 1;
        if (!job) continue;
        // A start that ended in no attempt (its lock or its move to active lost, the job stalled and ran again) is
        // a duplicate; an attempt that failed (its handler hit the failover) and was retried is --tries at work.
        if ((job.attemptsStarted ?? job.attemptsMade) > job.attemptsMade || (job.stalledCounter ?? 0) > 0) {
          startedTwice++;
          // When, relative to the fault, it was added, (last) taken and finished: which part of the failover it met.
          const at = (t) => (t ? t - faultAt : null);
          twice.push({ queue, id, attemptsStarted: job.attemptsStarted, attemptsMade: job.attemptsMade, stalledCounter: job.stalledCounter, addedMs: at(job.timestamp), processedMs: at(job.processedOn), finishedMs: at(job.finishedOn) });
        } else if (job.attemptsMade > 1) retriedAfterFailure++;
      }
      return { states, startedTwice, retriedAfterFailure, twice };
    };
    let jobs = await jobState();
    const deadline = Date.now() + 120000;
    while ((jobs.states.completed ?? 0) + (jobs.states.missing ?? 0) + (jobs.states.failed ?? 0) < acked.length && Date.now() < deadline) {
      await sleep(1000);
      jobs = await jobState();
    }
    const refused = Object.entries(figures.http.byStatus)
      .filter(([k]) => k.startsWith('POST analysis') && /( 5\d\d| network| timeout)$/.test(k))
      .reduce((s, [, v]) => s + v, 0);
    const failureTimes = figures.http.failureSpan;
    return {
      figures: {
        topology,
        fault,
        victim,
        promotedMs,
        upAgainMs,
        upAnswers: upAgainMs === null ? lastUp : undefined,
        windowMs: failureTimes ? failureTimes.last - failureTimes.first : 0,
        requests: { total: figures.http.requests, failed: figures.http.errors, succeeded: figures.http.requests - figures.http.errors },
        jobs: { acknowledged: acked.length, refused, states: jobs.states, completedOnce: (jobs.states.completed ?? 0) - jobs.startedTwice, startedTwice: jobs.startedTwice, retriedAfterFailure: jobs.retriedAfterFailure, startedTwiceJobs: jobs.twice },
        ...figures,
      },
      guarantees: {
        ...loadGuarantees(figures),
        everyAcknowledgedJobCompleted: (jobs.states.completed ?? 0) === acked.length,
        noJobStartedTwice: jobs.startedTwice === 0,
        backWithin5sOfPromotion: upAgainMs !== null && upAgainMs - promotedMs <= 5000,
      },
    };
  } finally {
    load.kill();
    await Promise.all(Object.values(queues).map((q) => q.close().catch(() => undefined)));
    connection.disconnect();
  }
}

// Analyses are the job stream: many per owner at once, short stations.
module.exports = { run, env: { MAX_ACTIVE_ANALYSES_PER_USER: '100000', ANALYSIS_STATION_MS: '100' } };
