#!/usr/bin/env node
// @ts-check
'use strict';
// What an idle `queue:work` costs: CPU ms per second of the worker process (tree) and of the Redis server, Redis
// commands per second by name (INFO commandstats), and MariaDB connections opened per second on every server
// (`SHOW GLOBAL STATUS LIKE 'Connections'`), over a window of an idle worker on empty queues.
// With two build roots the rounds alternate (A, B, A, B, ...) and the figures are printed side by side.
//
// Usage (with a stack's variables exported: STACK_PORT_BASE=29100 node scripts/stack.js up --stack=NAME prints them):
//   node bench/queues/idle-cost.js [rootA [rootB]]     (default: this checkout)
// Knobs: IDLE_WINDOW_S (30), IDLE_WARMUP_S (5), IDLE_ROUNDS (3), IDLE_CONCURRENCY (10), IDLE_QUEUES (high,default),
//        IDLE_ENV='{"QUEUE_DISPATCH_WAIT_MS":"0"}' (extra environment for the worker).
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { randomUUID } = require('node:crypto');
const { join, resolve } = require('node:path');
const Redis = require('ioredis');
const mysql = require('mysql2/promise');

const WINDOW_S = Number(process.env.IDLE_WINDOW_S || 30);
const WARMUP_S = Number(process.env.IDLE_WARMUP_S || 5);
const ROUNDS = Math.max(1, Number(process.env.IDLE_ROUNDS || 3));
const CONCURRENCY = Number(process.env.IDLE_CONCURRENCY || 10);
const QUEUES = process.env.IDLE_QUEUES || 'high,default';
const EXTRA_ENV = JSON.parse(process.env.IDLE_ENV || '{}');
const BOOT_TIMEOUT_MS = 60000;
const { treeCpuUs } = require('./proc-cpu');
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** calls per command name from INFO commandstats. */
async function commandCalls(/** @type {Redis} */ redis) {
  /** @type {Record<string, number>} */
  const calls = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
}

/** One connection per MariaDB server (primary, then each DB_READ_HOST), opened before the windows so it is not counted. */
async function dbServers() {
  const env = process.env;
  const hosts = [{ label: 'primary', host: env.DB_WRITE_HOST || '127.0.0.1', port: Number(env.DB_WRITE_PORT || 3306) }];
  for (const h of (env.DB_READ_HOST || '').split(',').filter(Boolean)) {
    const [host, port] = h.split(':');
    hosts.push({ label: `replica ${h}`, host, port: Number(port || 3306) });
  }
  return Promise.all(
    hosts.map(async (h) => ({ label: h.label, conn: await mysql.createConnection({ host: h.host, port: h.port, user: env.DB_USERNAME || 'root', password: env.DB_PASSWORD || '' }) })),
  );
}

async function connectionsOpened(/** @type {Awaited<ReturnType<typeof dbServers>>} */ servers) {
  return Promise.all(
    servers.map(async ({ conn }) => {
      const [rows] = await conn.query("SHOW GLOBAL STATUS LIKE 'Connections'");
      return Number(/** @type {Array<{ Value: string }>} */ (rows)[0].Value);
    }),
  );
}

/** Starts queue:work of `root` on a fresh prefix (empty queues) and resolves once it said "worker started". */
async function startWorker(/** @type {string} */ root) {
  const child = spawn(process.execPath, [join(root, 'bin', 'switchboard'), 'queue:work', `--queue=${QUEUES}`, `--concurrency=${CONCURRENCY}`], {
    env: { ...process.env, ...EXTRA_ENV, REDIS_PREFIX: `idle-${randomUUID().slice(0, 8)}`, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let seen = '';
  await new Promise((resolveBoot, reject) => {
    const timer = setTimeout(() => reject(new Error(`queue:work of ${root} did not start:\n${seen.slice(-2000)}`)), BOOT_TIMEOUT_MS);
    const onData = (/** @type {Buffer} */ d) => {
      seen += d.toString();
      if (seen.includes('worker started')) {
        clearTimeout(timer);
        resolveBoot(undefined);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`queue:work of ${root} exited (${code}):\n${seen.slice(-2000)}`)));
  });
  // Keep reading so a full pipe never blocks the worker; forget what it says.
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  return child;
}

async function stopWorker(/** @type {import('node:child_process').ChildProcess} */ child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** One round: boot, warm up, then the window. */
async function round(/** @type {string} */ root, /** @type {Redis} */ redis, /** @type {number} */ redisPid, /** @type {Awaited<ReturnType<typeof dbServers>>} */ servers) {
  const child = await startWorker(root);
  const pid = /** @type {number} */ (child.pid);
  try {
    await sleep(WARMUP_S * 1000);
    const before = { worker: treeCpuUs(pid), redis: treeCpuUs(redisPid), calls: await commandCalls(redis), db: await connectionsOpened(servers), at: performance.now() };
    await sleep(WINDOW_S * 1000);
    const after = { worker: treeCpuUs(pid), redis: treeCpuUs(redisPid), calls: await commandCalls(redis), db: await connectionsOpened(servers), at: performance.now() };
    const s = (after.at - before.at) / 1000;
    /** @type {Record<string, number>} */
    const commands = {};
    for (const [name, n] of Object.entries(after.calls)) {
      // The two INFO calls and the SHOW STATUS of this script itself are within the noise (one per window).
      const perS = (n - (before.calls[name] ?? 0)) / s;
      if (perS > 0) commands[name] = perS;
    }
    return {
      workerMsPerS: (after.worker - before.worker) / 1000 / s,
      redisMsPerS: (after.redis - before.redis) / 1000 / s,
      // Minus this script's own SHOW STATUS connection: none (it stays open).
      dbConnectionsPerS: after.db.map((n, i) => (n - before.db[i]) / s),
      commands,
    };
  } finally {
    await stopWorker(child);
  }
}

const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (/** @type {number} */ x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2));
const spread = (/** @type {number[]} */ xs) => `${fmt(median(xs))} (${xs.map(fmt).join(' ')})`;

async function main() {
  const roots = process.argv.slice(2).map((r) => resolve(r));
  if (roots.length === 0) roots.push(join(__dirname, '..', '..'));
  if (!process.env.REDIS_URL) throw new Error('export a stack\'s variables first (STACK_PORT_BASE=... node scripts/stack.js up --stack=NAME prints them)');
  const redis = new Redis(process.env.REDIS_URL);
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const servers = await dbServers();
  /** @type {Array<Array<Awaited<ReturnType<typeof round>>>>} */
  const results = roots.map(() => []);
  const load = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < roots.length; i++) {
      results[i].push(await round(roots[i], redis, redisPid, servers));
      load.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      const last = results[i][results[i].length - 1];
      process.stderr.write(`round ${r + 1} ${roots[i]}: worker ${fmt(last.workerMsPerS)} ms/s, redis ${fmt(last.redisMsPerS)} ms/s, db connections/s ${last.dbConnectionsPerS.map(fmt).join(' / ')}\n`);
    }
  }
  console.log(`idle queue:work --queue=${QUEUES} --concurrency=${CONCURRENCY}, ${ROUNDS} rounds of ${WINDOW_S} s (after ${WARMUP_S} s), alternating; median (each round); load average at round ends: ${load.join(' ')}`);
  const rows = [
    ['worker CPU ms/s', (/** @type {typeof results[0]} */ rs) => spread(rs.map((x) => x.workerMsPerS))],
    ['Redis CPU ms/s', (/** @type {typeof results[0]} */ rs) => spread(rs.map((x) => x.redisMsPerS))],
    ...servers.map((srv, k) => [`${srv.label}: connections/s`, (/** @type {typeof results[0]} */ rs) => spread(rs.map((x) => x.dbConnectionsPerS[k]))]),
  ];
  const names = [...new Set(results.flat().flatMap((x) => Object.keys(x.commands)))].sort();
  for (const name of names) rows.push([`redis ${name}/s`, (/** @type {typeof results[0]} */ rs) => fmt(median(rs.map((x) => x.commands[name] ?? 0)))]);
  console.log(['', ...roots].join(' | '));
  for (const [label, f] of rows) console.log([label, ...results.map((rs) => /** @type {(rs: typeof results[0]) => string} */ (f)(rs))].join(' | '));
  for (const { conn } of servers) await conn.end();
  redis.disconnect();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
