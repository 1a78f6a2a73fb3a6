#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Realtime fan-out on one Redis vs a 3-master Redis Cluster (issue 14). Every event goes through the
 * real publish script (EventLog.append from dist/: id, epoch, room stream, global stream, fan-out) and
 * is received by `--subscribers` subscriber connections (one per "api process"), as the api does.
 *
 *   single        one Redis, tag {rt}, PUBLISH (today, one Redis or Sentinel)
 *   cluster-1     3-master Cluster, one tag {rt}, PUBLISH (today on a Cluster: one master does every
 *                 publish and the cluster bus copies each message to all six nodes)
 *   cluster-3     3-master Cluster, one EventLog per master (tags chosen to land on different masters,
 *                 rooms hashed to them), SPUBLISH / SSUBSCRIBE (the sharded design, docs/scaling/redis.md)
 *   cluster-shards  3-master Cluster, the app's own sharded log (EventLog with shards = masters, as
 *                 REALTIME_SHARDS: shard-layout.js tags, first room → shard), SSUBSCRIBE per shard channel
 *
 * Prints, per mode: events/s published and delivered, delivery latency p50/p99, and the Redis main
 * thread's CPU per event on the busiest master (INFO cpu), from which the ceiling of one master
 * follows; then the ratios. Rounds are interleaved (--rounds) because the machine is shared.
 *
 *   npm run build && STACK_REDIS=cluster node bench/redis-shards.js [--stack=h-redis] [--seconds=6]
 *       [--concurrency=32] [--subscribers=3] [--rooms=300] [--rounds=2] [--modes=single,cluster-1,cluster-3]
 */
const { join } = require('node:path');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const root = join(__dirname, '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => { const s = a.replace(/^--/, ''); const i = s.indexOf('='); return i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]; }));
const SECONDS = Number(args.seconds || 6);
const CONCURRENCY = Number(args.concurrency || 32);
const SUBSCRIBERS = Number(args.subscribers || 3);
const ROOMS = Number(args.rooms || 300);
const ROUNDS = Number(args.rounds || 2);
const MODES = (args.modes || 'single,cluster-1,cluster-3,cluster-shards').split(',');
const PREFIX = `bench${process.pid}:`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);

async function cpuOf(client) {
  const info = String(await client.info('cpu'));
  const f = (n) => Number(new RegExp(`^${n}:(.*)$`, 'm').exec(info)?.[1] ?? NaN);
  const main = f('used_cpu_sys_main_thread') + f('used_cpu_user_main_thread');
  return Number.isFinite(main) ? main : f('used_cpu_sys') + f('used_cpu_user');
}

/** Microseconds spent per command since RESETSTAT (INFO commandstats), by lower-case command name. */
async function commandUsec(client) {
  const info = String(await client.info('commandstats'));
  /** @type {Map<string, number>} */
  const by = new Map();
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=\d+,usec=(\d+)/gm)) by.set(m[1], Number(m[2]));
  return by;
}

/** Cluster masters: [{ host, port, slots: [[lo, hi]] }]. */
async function masters(Redis, node) {
  const c = new Redis(node.port, node.host);
  const slots = /** @type {any[]} */ (await c.call('CLUSTER', 'SLOTS'));
  /** @type {Map<string, { host: string, port: number, slots: number[][] }>} */
  const by = new Map();
  for (const [lo, hi, [host, port]] of slots) {
    const key = `${host}:${port}`;
    if (!by.has(key)) by.set(key, { host, port, slots: [] });
    by.get(key)?.slots.push([lo, hi]);
  }
  // One tag per master: the first of rt0, rt1, … whose slot it serves.
  for (const m of by.values()) {
    for (let i = 0; i < 2000; i++) {
      const slot = Number(await c.call('CLUSTER', 'KEYSLOT', `rt${i}`));
      if (m.slots.some(([lo, hi]) => slot >= lo && slot <= hi)) {
        /** @type {any} */ (m).tag = `rt${i}`;
        break;
      }
    }
  }
  const rtSlot = Number(await c.call('CLUSTER', 'KEYSLOT', 'rt'));
  c.disconnect();
  return { list: [...by.values()], rtMaster: [...by.values()].find((m) => m.slots.some(([lo, hi]) => rtSlot >= lo && rtSlot <= hi)) };
}

async function runMode(mode, ctx) {
  const { Redis, EventLog, env } = ctx;
  const subs = [];
  const latencies = [];
  let delivered = 0;
  const onMessage = (_ch, msg) => {
    delivered++;
    const m = /"t":([\d.]+)/.exec(msg);
    if (m && latencies.length < 2_000_000) latencies.push(performance.now() - Number(m[1]));
  };
  /** @type {any} */ let publisher;
  /** @type {{ log: any }[]} */ let logs;
  /** @type {any[]} */ let cpuClients;
  const opts = { prefix: PREFIX, historyPerRoom: 1000, historyTtlMs: 600000 };
  if (mode === 'single') {
    publisher = new Redis(env.REDIS_URL);
    logs = [{ log: new EventLog(publisher, opts) }];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const s = new Redis(env.REDIS_URL);
      s.on('message', onMessage);
      await s.subscribe(logs[0].log.channel);
      subs.push(s);
    }
    cpuClients = [new Redis(env.REDIS_URL)];
  } else if (mode === 'cluster-shards') {
    const { list } = ctx.cluster;
    publisher = new Redis.Cluster(ctx.clusterNodes);
    const log = new EventLog(publisher, { ...opts, shards: list.length });
    logs = [{ log }];
    const masterOf = (/** @type {string} */ key) => {
      const slot = ctx.keySlot(key);
      const m = list.find((n) => n.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
      if (!m) throw new Error(`no master serves slot ${slot}`);
      return m;
    };
    if (!ctx.shardsShown) {
      ctx.shardsShown = true;
      process.stderr.write(`shards: ${log.shards.map((/** @type {any} */ s) => `${s.channel} on ${masterOf(s.channel).port}`).join(', ')}\n`);
    }
    for (let i = 0; i < SUBSCRIBERS; i++) {
      // As an api process does (ChannelSubscriber): every shard channel, each on the master that serves it.
      for (const shard of log.shards) {
        const m = masterOf(shard.channel);
        const s = new Redis(m.port, m.host);
        s.on('smessage', onMessage);
        await s.ssubscribe(shard.channel);
        subs.push(s);
      }
    }
    cpuClients = list.map((m) => new Redis(m.port, m.host));
  } else {
    const { list, rtMaster } = ctx.cluster;
    publisher = new Redis.Cluster(ctx.clusterNodes);
    const sharded = mode === 'cluster-3';
    logs = sharded ? list.map((m) => ({ log: new EventLog(publisher, { ...opts, shardTag: m.tag, shardedPubSub: true }), master: m })) : [{ log: new EventLog(publisher, opts), master: rtMaster }];
    const all = ctx.clusterNodes;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      if (sharded) {
        // One connection per master, each subscribed to the shard channel that master serves.
        for (const { log, master } of logs) {
          const s = new Redis(master.port, master.host);
          s.on('smessage', onMessage);
          await s.ssubscribe(log.channel);
          subs.push(s);
        }
      } else {
        // A plain SUBSCRIBE on any node: the cluster bus brings every PUBLISH to every node.
        const n = all[i % all.length];
        const s = new Redis(n.port, n.host);
        s.on('message', onMessage);
        await s.subscribe(logs[0].log.channel);
        subs.push(s);
      }
    }
    cpuClients = list.map((m) => new Redis(m.port, m.host));
  }
  await sleep(300);
  // Warm up (script load, connections), then measure.
  await Promise.all(Array.from({ length: 50 }, (_, i) => logs[i % logs.length].log.append([`room:${i}`], 'bench', { t: performance.now() }, 'all')));
  await sleep(500);
  delivered = 0;
  latencies.length = 0;
  // Per-command time (commands a script runs count too): how much of the publish script is its epoch check's INFO.
  await Promise.all(cpuClients.map((c) => c.config('RESETSTAT')));
  const cpu0 = await Promise.all(cpuClients.map(cpuOf));
  let published = 0;
  let errors = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const r = Math.floor(Math.random() * ROOMS);
        const { log } = logs[r % logs.length];
        try {
          await log.append([`room:${r}`], 'bench', { t: performance.now() }, 'all');
          published++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(1000); // the last deliveries
  const cpu1 = await Promise.all(cpuClients.map(cpuOf));
  const cpuPerMaster = cpu1.map((c, i) => c - cpu0[i]);
  const usec = await Promise.all(cpuClients.map(commandUsec));
  const sum = (/** @type {string[]} */ names) => usec.reduce((a, u) => a + names.reduce((b, n) => b + (u.get(n) ?? 0), 0), 0);
  latencies.sort((a, b) => a - b);
  for (const s of [...subs, ...cpuClients]) s.disconnect();
  // Clean the bench's keys (all under PREFIX, a few per room).
  const keys = [...logs.flatMap(({ log }) => log.shards.flatMap((/** @type {any} */ s) => [s.seqKey, s.epochKey, `${s.channel.replace(/events$/, 'all-events')}`])), ...Array.from({ length: ROOMS }, (_, r) => logs[r % logs.length].log.streamKey(`room:${r}`))];
  for (const k of keys) await publisher.del(k).catch(() => undefined);
  publisher.disconnect();
  const busiest = Math.max(...cpuPerMaster);
  return {
    mode,
    published: Math.round(published / elapsed),
    deliveredPerSubscriber: Math.round(delivered / SUBSCRIBERS / elapsed / (mode === 'cluster-3' ? 1 : 1)),
    errors,
    p50: Number(pct(latencies, 50).toFixed(1)),
    p99: Number(pct(latencies, 99).toFixed(1)),
    redisCpuUsPerEvent: { busiestMaster: Number(((busiest * 1e6) / Math.max(1, published)).toFixed(1)), allMasters: Number(((cpuPerMaster.reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, published)).toFixed(1)) },
    // Inside Redis, per event: the publish script (EVALSHA, all it runs included) and the INFO of its epoch check.
    scriptUsPerEvent: Number((sum(['evalsha', 'eval']) / Math.max(1, published)).toFixed(1)),
    epochInfoUsPerEvent: Number((sum(['info']) / Math.max(1, published)).toFixed(1)),
    // What the busiest master could carry at 100 % of one core with this mix.
    ceilingPerSecond: Math.round(published / Math.max(1e-9, busiest)),
  };
}

async function main() {
  const { services } = require(join(root, 'scripts', 'services.js'));
  const { env } = await services(args.stack || process.env.SWITCHBOARD_TEST_STACK || 'bench', () => undefined);
  const Redis = require(join(root, 'node_modules', 'ioredis'));
  const { EventLog } = require(join(root, 'dist', 'core', 'realtime', 'event-log.js'));
  const { keySlot } = require(join(root, 'dist', 'core', 'realtime', 'shard-layout.js'));
  const ctx = { Redis, EventLog, keySlot, env, cluster: null, clusterNodes: null, shardsShown: false };
  if (MODES.some((m) => m.startsWith('cluster'))) {
    if (!env.REDIS_CLUSTER_NODES) throw new Error('cluster modes need STACK_REDIS=cluster (the stack then runs its one Redis and a 3-master cluster)');
    const nodes = env.REDIS_CLUSTER_NODES.split(',').map((h) => ({ host: h.split(':')[0], port: Number(h.split(':')[1]) }));
    ctx.clusterNodes = nodes;
    ctx.cluster = await masters(Redis, nodes[0]);
    if (ctx.cluster.list.length < 3) throw new Error(`expected 3 masters, found ${ctx.cluster.list.length}`);
  }
  if (!env.REDIS_URL) throw new Error('the single mode needs the stack Redis (REDIS_URL)');
  const results = {};
  const load = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      load.push(os.loadavg()[0]);
      const r = await runMode(mode, ctx);
      (results[mode] ??= []).push(r);
      process.stderr.write(`round ${round + 1} ${JSON.stringify(r)}\n`);
    }
  }
  // Best round per mode: on a shared machine the slower rounds measure the neighbours.
  const best = Object.fromEntries(Object.entries(results).map(([m, rs]) => [m, rs.reduce((a, b) => (b.published > a.published ? b : a))]));
  const rows = Object.values(best);
  console.log(`\nRealtime fan-out, ${SECONDS} s per round x ${ROUNDS} rounds, ${CONCURRENCY} publishes in flight, ${SUBSCRIBERS} subscriber(s), ${ROOMS} rooms; load average during the run ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on ${os.cpus().length} cores`);
  console.log('mode           published/s  delivered/s/sub  p50 ms  p99 ms  Redis µs/event (busiest master, all)  ceiling/s (busiest master at 1 core)  script µs/event (its INFO)');
  for (const r of rows) console.log(`${r.mode.padEnd(14)} ${String(r.published).padStart(11)}  ${String(r.deliveredPerSubscriber).padStart(15)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.redisCpuUsPerEvent.busiestMaster).padStart(8)}, ${String(r.redisCpuUsPerEvent.allMasters).padStart(6)}                   ${String(r.ceilingPerSecond).padStart(8)}                       ${r.scriptUsPerEvent} (${r.epochInfoUsPerEvent})`);
  const ratio = (a, b) => (best[a] && best[b] ? (best[a].published / best[b].published).toFixed(2) : 'n/a');
  const ceil = (a, b) => (best[a] && best[b] ? (best[a].ceilingPerSecond / best[b].ceilingPerSecond).toFixed(2) : 'n/a');
  console.log(`ratio cluster-3 / single: measured ${ratio('cluster-3', 'single')}x, ceiling ${ceil('cluster-3', 'single')}x; cluster-3 / cluster-1: measured ${ratio('cluster-3', 'cluster-1')}x, ceiling ${ceil('cluster-3', 'cluster-1')}x`);
  console.log(`ratio cluster-shards / single: measured ${ratio('cluster-shards', 'single')}x, ceiling ${ceil('cluster-shards', 'single')}x; cluster-shards / cluster-1: ceiling ${ceil('cluster-shards', 'cluster-1')}x`);
  console.log(JSON.stringify({ bench: 'redis-shards', at: new Date().toISOString(), loadavg: os.loadavg(), best }));
}

if (!require(join(root, 'scripts', 'runtime.js')).relaunchOnRequiredNode(__filename)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
