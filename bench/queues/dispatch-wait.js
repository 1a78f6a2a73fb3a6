#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * What waiting for the replicas costs a dispatch (issue 14): BullMQ `add` alone vs `add` + the
 * replica confirmation the app does (ReplicaConfirmation from dist/: WAIT n 1000 on the producer
 * connection), one dispatch at a time as an HTTP request makes it, rounds interleaved because the
 * machine is shared. Prints per-dispatch latency p50/p99 and this process's CPU µs per dispatch.
 *
 *   npm run build && STACK_REDIS=sentinel node bench/queues/dispatch-wait.js [--stack=h-redis] [--count=300] [--rounds=3]
 */
const { join } = require('node:path');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const root = join(__dirname, '..', '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const s = a.replace(/^--/, ''); const i = s.indexOf('='); return i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]; }));
const COUNT = Number(args.count || 300);
const ROUNDS = Number(args.rounds || 3);
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main() {
  const { services } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(args.stack || process.env.SWITCHBOARD_TEST_STACK || 'bench', () => undefined);
  const { createRedis, redisReady } = require(join(root, 'dist', 'core', 'redis', 'redis.factory.js'));
  const { ReplicaConfirmation } = require(join(root, 'dist', 'core', 'redis', 'replica-confirmation.js'));
  const { Queue } = require(join(root, 'node_modules', 'bullmq'));
  const hosts = (list) => list?.split(',').map((h) => ({ host: h.split(':')[0], port: Number(h.split(':')[1]) }));
  const config = { url: env.REDIS_URL, sentinels: hosts(env.REDIS_SENTINELS), sentinelName: env.REDIS_SENTINEL_NAME, clusterNodes: hosts(env.REDIS_CLUSTER_NODES), prefix: 'bench:' };
  const client = createRedis(config, { name: 'bench-producer', extra: { autoResendUnfulfilledCommands: false } });
  await redisReady(client);
  const prefix = `bench${process.pid}{bull}`;
  const queue = new Queue('dispatch', { connection: client, prefix, defaultJobOptions: { removeOnComplete: true } });
  const confirmation = new ReplicaConfirmation(client, { minReplicas: env.REDIS_SENTINELS || env.REDIS_CLUSTER_NODES ? 1 : 0, timeoutMs: 1000, slotKey: `${prefix}:x` });
  confirmation.start();
  await new Promise((r) => setTimeout(r, 1500)); // a few replica samples
  const modes = {
    add: async () => void (await queue.add('probe', { n: 1 })),
    'add+wait': async () => {
      const mark = await confirmation.mark();
      await queue.add('probe', { n: 1 });
      await confirmation.confirm(mark);
    },
  };
  const results = { add: [], 'add+wait': [] };
  let required = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [mode, fn] of Object.entries(modes)) {
      const lat = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < COUNT; i++) {
        const t = performance.now();
        await fn();
        lat.push(performance.now() - t);
      }
      const cpu = process.cpuUsage(cpu0);
      lat.sort((a, b) => a - b);
      results[mode].push({ p50: pct(lat, 50), p99: pct(lat, 99), cpuUs: (cpu.user + cpu.system) / COUNT, load: os.loadavg()[0] });
    }
  }
  required = (await confirmation.confirm(await confirmation.mark())).required;
  const best = (mode, k) => Math.min(...results[mode].map((r) => r[k]));
  const topology = env.REDIS_CLUSTER_NODES ? 'cluster' : env.REDIS_SENTINELS ? 'sentinel' : 'single';
  console.log(`Dispatch cost on ${topology} (WAIT for ${required} replica(s)), ${COUNT} sequential dispatches x ${ROUNDS} interleaved rounds; load average ${Math.min(...Object.values(results).flat().map((r) => r.load)).toFixed(1)}–${Math.max(...Object.values(results).flat().map((r) => r.load)).toFixed(1)} on ${os.cpus().length} cores (best round shown)`);
  console.log('mode        p50 ms  p99 ms  client CPU µs/dispatch');
  for (const mode of Object.keys(modes)) console.log(`${mode.padEnd(10)} ${best(mode, 'p50').toFixed(2).padStart(7)} ${best(mode, 'p99').toFixed(2).padStart(7)} ${best(mode, 'cpuUs').toFixed(0).padStart(10)}`);
  console.log(`added by the wait: p50 +${(best('add+wait', 'p50') - best('add', 'p50')).toFixed(2)} ms, client CPU +${(best('add+wait', 'cpuUs') - best('add', 'cpuUs')).toFixed(0)} µs`);
  console.log(JSON.stringify({ bench: 'dispatch-wait', topology, required, at: new Date().toISOString(), results }));
  confirmation.stop();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  client.disconnect();
}

if (!require(join(root, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
