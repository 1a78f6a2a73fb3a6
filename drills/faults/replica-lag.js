// @ts-check
'use strict';
/**
 * replica-lag: reads spread over two MariaDB replicas while one user keeps writing chat messages.
 * The SQL thread of one replica is stopped under that load (STOP SLAVE SQL_THREAD), then started
 * again; then both are stopped and started. Guarantees:
 * - no read returns data older than DB_REPLICA_MAX_LAG_S: every message acknowledged (201) that long
 *   before a read started is in what the read returned;
 * - every read and write answers (200/201);
 * - reads land on both replicas, leave the stopped one once it lags past the limit, come back when it
 *   has caught up, and go to the primary while neither is usable.
 * Where reads went is read from each api process's metrics (db_replica_reads_total{replica},
 * db_queries_total{role="primary",kind="read"}, db_replica_in_pool, db_replica_up).
 *
 * `npm run drill -- replica-lag [--clients=readers] [--rate=writes/s] [--duration=s per phase]` runs
 * it on the production topology; test/e2e/replica-pool.e2e-spec.ts runs it short on one api process
 * (ctx.cluster = { url, apiPorts }).
 */
const path = require('node:path');
const { request, clientAddress } = require('../lib/http');

const stack = require(path.join(__dirname, '..', '..', 'scripts', 'stack.js'));

/** drills/lib/drill.js starts the stack with this many replicas. */
const replicas = 2;

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {() => Promise<boolean>} fn
 * @param {number} timeoutMs
 * @returns {Promise<number | null>} ms until fn held, null if it never did
 */
async function until(fn, timeoutMs, stepMs = 100) {
  const t = Date.now();
  while (Date.now() - t < timeoutMs) {
    if (await fn()) return Date.now() - t;
    await sleep(stepMs);
  }
  return null;
}

/** /metrics of one api process; a busy process (a loaded machine) gets three tries of 15 s. */
async function scrape(/** @type {number} */ port) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(15_000) })).text();
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/**
 * One value per api process: the sum of a series filtered by labels.
 * @param {number[]} ports
 * @param {string} name
 * @param {Record<string, string>} labels
 */
async function perProcess(ports, name, labels = {}) {
  return Promise.all(
    ports.map(async (port) => {
      const text = await scrape(port);
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
        if (!m || m[1] !== name) continue;
        if (!Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
        const v = Number(m[3]);
        if (Number.isFinite(v)) sum += v;
      }
      return sum;
    }),
  );
}

const total = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0);

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/**
 * @param {{ cluster: { url: string, apiPorts: number[] }, env: Record<string, string>, stackName: string, opts?: Record<string, number>, log?: (m: string) => void }} ctx
 */
async function run({ cluster, env, stackName, opts = {}, log = () => {} }) {
  const { url, apiPorts: ports } = cluster;
  const maxLagS = Number(env.DB_REPLICA_MAX_LAG_S ?? 5);
  const hosts = String(env.DB_READ_HOST).split(',');
  if (hosts.length < 2) throw new Error(`replica-lag needs two replicas (STACK_REPLICAS=2); DB_READ_HOST=${env.DB_READ_HOST}`);
  const [r1, r2] = hosts;
  const readers = opts.clients ?? 40;
  const rate = opts.rate ?? 20;
  const phaseMs = (opts.duration ?? 15) * 1000;
  /** @param {'replica' | 'replica2'} svc @param {string} text */
  const sql = (svc, text) => stack.sql(stackName, svc, text);

  // Users and a room, through the API like any client.
  const tag = Date.now().toString(36);
  /** @param {number} i */
  const register = async (i) => {
    const localAddress = clientAddress(7000 + i);
    const reg = await request(url, { method: 'POST', path: '/api/auth/register', body: { email: `lag-${tag}-${i}@drill.test`, password: 'drill-password-1', name: `lag ${i}` }, localAddress });
    if (reg.status !== 201) throw new Error(`register: HTTP ${reg.status} ${JSON.stringify(reg.body)}`);
    const cookie = String(reg.headers['set-cookie']?.[0] ?? '').split(';')[0];
    const tok = await request(url, { method: 'POST', path: '/api/auth/token', cookie, localAddress });
    if (tok.status !== 200) throw new Error(`token: HTTP ${tok.status} ${JSON.stringify(tok.body)}`);
    return { id: /** @type {number} */ (reg.body.id), token: /** @type {string} */ (tok.body.token), localAddress };
  };
  const writer = await register(0);
  const members = [];
  for (let i = 1; i <= Math.min(readers, 10); i++) members.push(await register(i));
  const room = await request(url, { method: 'POST', path: '/api/chat/rooms', token: writer.token, body: { name: `lag ${tag}`, memberIds: members.map((u) => u.id) }, localAddress: writer.localAddress });
  if (room.status !== 201) throw new Error(`room: HTTP ${room.status} ${JSON.stringify(room.body)}`);
  const roomId = room.body.id;
  await stack.waitReplicaCaughtUp(stackName, 30_000);
  // Registering was a write: wait out the readers' read-your-writes window (DB_STICKY_WINDOW_MS).
  await sleep(Number(env.DB_STICKY_WINDOW_MS ?? 2000) + 500);

  /** @type {{ id: number, at: number }[]} acknowledged messages, in order */
  const acks = [];
  /** @type {{ at: number, phase: string, status: number, newest: number }[]} */
  const reads = [];
  let writeErrors = 0;
  let phase = 'both';
  let running = true;

  const writing = (async () => {
    const gap = 1000 / rate;
    while (running) {
      const t = Date.now();
      const r = await request(url, { method: 'POST', path: `/api/chat/rooms/${roomId}/messages`, token: writer.token, body: { body: `m ${t}` }, localAddress: writer.localAddress }).catch(() => ({ status: 0, body: null }));
      if (r.status === 201) acks.push({ id: Number(r.body.id), at: Date.now() });
      else writeErrors++;
      const wait = gap - (Date.now() - t);
      if (wait > 0) await sleep(wait);
    }
  })();
  const reading = Array.from({ length: readers }, async (_, i) => {
    const u = members[i % members.length];
    const localAddress = clientAddress(7100 + i);
    while (running) {
      const at = Date.now();
      const p = phase;
      const r = await request(url, { path: `/api/chat/rooms/${roomId}/messages?limit=1`, token: u.token, localAddress }).catch(() => ({ status: 0, body: null }));
      reads.push({ at, phase: p, status: r.status, newest: r.status === 200 ? Number(r.body.messages[0]?.id ?? 0) : -1 });
      await sleep(20);
    }
  });

  const counters = async () => ({
    r1: total(await perProcess(ports, 'db_replica_reads_total', { replica: r1 })),
    r2: total(await perProcess(ports, 'db_replica_reads_total', { replica: r2 })),
    primary: total(await perProcess(ports, 'db_queries_total', { role: 'primary', kind: 'read' })),
  });
  /** @param {() => Promise<unknown>} during */
  const measure = async (during) => {
    const a = await counters();
    await during();
    const b = await counters();
    return { r1: b.r1 - a.r1, r2: b.r2 - a.r2, primary: b.primary - a.primary };
  };
  const inPoolEverywhere = async (/** @type {string} */ host, /** @type {number} */ v) => (await perProcess(ports, 'db_replica_in_pool', { replica: host })).every((x) => x === v);
  const upEverywhere = async (/** @type {number} */ v) => (await perProcess(ports, 'db_replica_up')).every((x) => x === v);
  const limitMs = (maxLagS + 15) * 1000;

  /** @type {Record<string, any>} */
  const figures = { maxLagSeconds: maxLagS, readers, writesPerSecond: rate, phaseSeconds: phaseMs / 1000, reads: {} };
  try {
    log('phase 1: both replicas');
    figures.reads.both = await measure(() => sleep(phaseMs));

    log('phase 2: STOP SLAVE SQL_THREAD on replica2, writes continue');
    phase = 'one-stopped';
    await sql('replica2', 'STOP SLAVE SQL_THREAD');
    figures.replica2OutAfterMs = await until(() => inPoolEverywhere(r2, 0), limitMs);
    const up = await request(url, { path: '/up' }).catch(() => null);
    figures.upWhileLagging = up?.body?.details?.database_read?.replicas ?? null;
    await sleep(1000); // reads that picked replica2 before it left finish
    figures.reads.oneStopped = await measure(() => sleep(phaseMs));

    log('phase 3: START SLAVE SQL_THREAD on replica2');
    phase = 'restarted';
    await sql('replica2', 'START SLAVE SQL_THREAD');
    figures.replica2BackAfterMs = await until(() => inPoolEverywhere(r2, 1), limitMs);
    figures.reads.restarted = await measure(() => sleep(phaseMs));

    log('phase 4: both SQL threads stopped');
    phase = 'both-stopped';
    await Promise.all([sql('replica', 'STOP SLAVE SQL_THREAD'), sql('replica2', 'STOP SLAVE SQL_THREAD')]);
    figures.allOutAfterMs = await until(() => upEverywhere(0), limitMs);
    await sleep(1000);
    figures.reads.bothStopped = await measure(() => sleep(phaseMs));

    log('phase 5: both started');
    phase = 'recovered';
    await Promise.all([sql('replica', 'START SLAVE SQL_THREAD'), sql('replica2', 'START SLAVE SQL_THREAD')]);
    figures.bothBackAfterMs = await until(async () => (await inPoolEverywhere(r1, 1)) && (await inPoolEverywhere(r2, 1)), limitMs);
    figures.reads.recovered = await measure(() => sleep(phaseMs));
  } finally {
    running = false;
    await Promise.all([writing, ...reading]);
    await Promise.all([sql('replica', 'START SLAVE SQL_THREAD'), sql('replica2', 'START SLAVE SQL_THREAD')]).catch(() => undefined);
  }

  // Staleness of every answered read: the oldest acknowledged message it did not contain.
  const maxLagMs = maxLagS * 1000;
  let stale = 0;
  /** @type {Record<string, number[]>} */
  const ages = {};
  let ack = 0;
  for (const r of [...reads].filter((x) => x.status === 200).sort((x, y) => x.at - y.at)) {
    // acks are in id order and time order (one writer, one message at a time)
    let lo = 0;
    let hi = acks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (acks[mid].id > r.newest) hi = mid;
      else lo = mid + 1;
    }
    const missed = acks[lo];
    const age = missed && missed.at < r.at ? r.at - missed.at : 0;
    (ages[r.phase] ??= []).push(age);
    if (age > maxLagMs) stale++;
    ack++;
  }
  figures.readsAnswered = ack;
  figures.readErrors = reads.length - ack;
  figures.writes = acks.length;
  figures.writeErrors = writeErrors;
  figures.staleReads = stale;
  figures.readAgeMs = Object.fromEntries(Object.entries(ages).map(([p, xs]) => [p, { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) }]));

  const R = figures.reads;
  const guarantees = {
    noReadOlderThanTheLimit: stale === 0,
    everyReadAnswered: figures.readErrors === 0 && reads.length > 0,
    everyWriteAnswered: writeErrors === 0 && acks.length > 0,
    readsOnBothReplicas: R.both.r1 > 0 && R.both.r2 > 0,
    stoppedReplicaLeftThePool: figures.replica2OutAfterMs !== null && R.oneStopped.r2 === 0 && R.oneStopped.r1 > 0,
    caughtUpReplicaCameBack: figures.replica2BackAfterMs !== null && R.restarted.r2 > 0,
    primaryWhenNoReplica: figures.allOutAfterMs !== null && R.bothStopped.r1 === 0 && R.bothStopped.r2 === 0 && R.bothStopped.primary > 0,
    bothBack: figures.bothBackAfterMs !== null && R.recovered.r1 > 0 && R.recovered.r2 > 0,
  };
  return { figures, guarantees };
}

module.exports = { run, replicas };
