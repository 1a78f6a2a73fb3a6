// @ts-check
// npm test: install, build, start (or reuse) the test stack, migrate, run unit + end-to-end tests.
// A whole run (no arguments, STACK_REDIS unset) then runs the suites that depend on Redis again on a
// Sentinel set and on a Redis Cluster, so every topology the product supports is tested.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { ensure } = require('./ensure');
const { relaunchOnRequiredNode } = require('./runtime');
const { ensurePrerequisites, TEST_PREREQUISITES } = require('./prerequisites');

/**
 * Cross-process suites that exercise every Redis use: sessions, fan-out, recovery, SSE replay, caps, queues, the
 * marks of heard queues (a history marked incomplete in every shard of a sharded log), AI cache.
 */
const TOPOLOGY_SUITES = [
  'test/e2e/realtime.e2e-spec.ts',
  'test/e2e/auth-sessions.e2e-spec.ts',
  'test/e2e/access-revocation.e2e-spec.ts',
  'test/e2e/queue-worker.e2e-spec.ts',
  'test/e2e/queue-hearing.e2e-spec.ts',
  'test/e2e/ai-cache-scope.e2e-spec.ts',
];
/** Suites about read replicas: run again on a stack with two of them (STACK_REPLICAS=2). */
const REPLICA_SUITES = ['test/e2e/database-routing.e2e-spec.ts', 'test/e2e/replica-pool.e2e-spec.ts'];
/**
 * The short failover drills (kill -9 / SENTINEL FAILOVER under live traffic, docs/scaling/redis.md): run on
 * the Sentinel and Cluster passes, where they apply (about 75 s and 15 s). Their old timeout was the
 * killed primary left a zombie by the process that started it (docs/scaling/redis.md); the full-size
 * versions are `npm run drill -- redis-failover`.
 */
const FAILOVER_SUITE = 'test/e2e/redis-failover.e2e-spec.ts';

async function main() {
  ensure();
  if (relaunchOnRequiredNode(__filename)) return;
  const stack = require('./stack');
  // Before any suite: nginx, supervisor, Chromium, Python's Socket.IO client (apt-get once when root).
  ensurePrerequisites(TEST_PREREQUISITES, (m) => console.error(`[switchboard] ${m}`));
  const { services, migrate, root } = require('./services');
  const stackName = process.env.SWITCHBOARD_TEST_STACK || 'test';
  // --forceExit: a handle some suite leaves open (Jest says so after the run) must not hold CI until its timeout.
  const jest = (env, own, args) =>
    spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', '--forceExit', ...args], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...env, SWITCHBOARD_STACK: own ? stackName : '', NODE_ENV: 'test' },
    }).status ?? 1;
  const { env, own } = await services(stackName);
  migrate(env);
  // Topology-bound suites: the failover drills need Sentinel or Cluster (the passes below run them);
  // the data-loss test restarts the stack's single Redis.
  const whole = process.argv.length <= 2;
  // On a Redis Cluster the realtime log is sharded (one log per master, docs/scaling/redis.md), unless told otherwise.
  const shardsFor = (/** @type {string | undefined} */ topology) => (topology === 'cluster' && !process.env.REALTIME_SHARDS ? { REALTIME_SHARDS: '3' } : {});
  const notHere = [(process.env.STACK_REDIS || 'single') === 'single' ? 'redis-failover' : 'redis-data-loss'];
  // replica-pool needs two replicas: the pass below (or STACK_REPLICAS=2) runs it.
  if (stack.replicaCount() < 2) notHere.push('replica-pool');
  let status = jest({ ...env, ...shardsFor(process.env.STACK_REDIS) }, own, whole ? ['--testPathIgnorePatterns', notHere.join('|')] : process.argv.slice(2));
  if (own && whole && !process.env.STACK_REPLICAS) {
    process.env.STACK_REPLICAS = '2';
    console.error(`[switchboard] replica suites on two replicas: ${REPLICA_SUITES.map((s) => s.split('/').pop()).join(', ')}`);
    const two = await services(stackName);
    status = jest(two.env, own, REPLICA_SUITES) || status;
    delete process.env.STACK_REPLICAS;
  }
  if (own && whole && !process.env.STACK_REDIS) {
    for (const topology of ['sentinel', 'cluster']) {
      process.env.STACK_REDIS = topology;
      console.error(`[switchboard] Redis-dependent suites on ${topology}: ${[...TOPOLOGY_SUITES, FAILOVER_SUITE].map((s) => s.split('/').pop()).join(', ')}`);
      const topo = await services(stackName);
      // Paths only: `--selectProjects` takes every following word as a project name, so it ran every e2e suite.
      status = jest({ ...topo.env, ...shardsFor(topology) }, own, [...TOPOLOGY_SUITES, FAILOVER_SUITE]) || status;
    }
  }
  if (own && !process.env.KEEP_STACK) await stack.down(stackName);
  process.exit(status);
}

main().catch((err) => {
  console.error(`[switchboard] ${err.message}`);
  process.exit(1);
});
