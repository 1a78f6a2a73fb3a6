// @ts-check
'use strict';
/**
 * The local stack's Redis topologies, from Debian's redis-server:
 *   single   – the stack's own Redis (scripts/stack.js), nothing more;
 *   sentinel – a primary, two replicas and three sentinels;
 *   cluster  – three masters, each with a replica (redis-cli --cluster create).
 * Chosen by STACK_REDIS; every node keeps an AOF, like a production Redis holding queues and sessions.
 *
 * Ports follow the stack's Redis port R (scripts/stack.js): sentinel data nodes R+3..R+5, sentinels
 * R+6..R+8; cluster nodes R+9..R+14 with their bus ports R+15..R+20 (set explicitly so they stay below
 * the ephemeral range, where port+10000 would not).
 *
 * Module:
 *   topology(env)                      -> 'single' | 'sentinel' | 'cluster' (throws on anything else)
 *   await up(cfg, topo, { log })       -> env additions (REDIS_SENTINELS… / REDIS_CLUSTER_NODES)
 *   await down(cfg, { log })           stop every topology node of the stack
 *   nodes(cfg, topo)                   -> [{ role, port, dir, ... }]
 *   await currentPrimary(cfg)          -> port of the sentinel set's primary
 *   await clusterMasters(cfg)          -> ports of the cluster's masters
 *   await killNode(cfg, port, signal)  signal one of our nodes (drills)
 *   await startNode(cfg, topo, port)   start it again
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');

const TOPOLOGIES = ['single', 'sentinel', 'cluster'];
const SENTINEL_NAME = 'switchboard';
const START_TIMEOUT_MS = 30_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {NodeJS.ProcessEnv} env */
function topology(env = process.env) {
  const t = (env.STACK_REDIS || 'single').trim();
  if (!TOPOLOGIES.includes(t)) throw new Error(`STACK_REDIS must be one of ${TOPOLOGIES.join(', ')} (got ${JSON.stringify(env.STACK_REDIS)})`);
  return t;
}

/**
 * @typedef {{ name: string, dir: string, ports: { redis: number } }} StackConfig
 * @typedef {{ role: 'primary' | 'replica' | 'sentinel' | 'master', port: number, bus?: number, dir: string, conf: string, pidFile: string, log: string }} Node
 */

/** @param {StackConfig} cfg @param {string} topo @returns {Node[]} */
function nodes(cfg, topo) {
  const base = cfg.ports.redis;
  /** @type {(role: Node['role'], port: number, bus?: number) => Node} */
  const node = (role, port, bus) => {
    const dir = path.join(cfg.dir, `redis-${topo}`, String(port));
    return { role, port, bus, dir, conf: path.join(dir, 'redis.conf'), pidFile: path.join(dir, 'pid'), log: path.join(dir, 'redis.log') };
  };
  if (topo === 'sentinel') {
    return [node('primary', base + 3), node('replica', base + 4), node('replica', base + 5), ...[6, 7, 8].map((i) => node('sentinel', base + i))];
  }
  if (topo === 'cluster') {
    return [0, 1, 2, 3, 4, 5].map((i) => node(i < 3 ? 'master' : 'replica', base + 9 + i, base + 15 + i));
  }
  return [];
}

/** @param {string[]} args @param {number} [timeout] @returns {Promise<string>} */
function cli(args, timeout = 5000) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', ...args], { encoding: 'utf8', timeout }, (err, stdout, stderr) =>
      err ? reject(new Error(`redis-cli ${args.join(' ')}: ${(stderr || err.message).trim()}`)) : resolve(stdout),
    );
  });
}

/** @param {number} port */
const ping = (port) => cli(['-p', String(port), 'PING'], 2000).then((o) => o.trim() === 'PONG', () => false);

/**
 * Running, not merely present: a node killed with -9 stays a zombie until its parent reaps it, and
 * when that parent is `npm test` itself (scripts/test.js started the stack, then waits for Jest in
 * spawnSync, so it reaps nothing) `kill(pid, 0)` succeeds forever — killNode waited for it and the
 * sentinel kill -9 drill timed out.
 * @param {number} pid
 */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces, the state follows the last ')'.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid of our process for this node: recorded, alive, and started with its config file. @param {Node} n */
function ourPid(n) {
  try {
    const pid = parseInt(fs.readFileSync(n.pidFile, 'utf8'), 10);
    if (!(pid > 0) || !alive(pid)) return null;
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(n.conf) ? pid : null;
  } catch {
    return null;
  }
}

/** @param {StackConfig} cfg @param {Node} n @param {Node[]} all */
function writeConf(cfg, n, all) {
  const primary = all.find((x) => x.role === 'primary');
  const lines = [
    `# Written once by scripts/redis-topology.js; Redis and its sentinels rewrite it on failover.`,
    `port ${n.port}`,
    'bind 127.0.0.1',
    'protected-mode no',
    `dir ${n.dir}`,
    `logfile ${n.log}`,
    'set-proc-title no',
  ];
  if (n.role === 'sentinel') {
    if (!primary) throw new Error('sentinel without a primary');
    lines.push(
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary.port} 2`,
      // Fast enough for a drill to see promotion within seconds; loopback never has slow links.
      `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_NAME} 3000`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 2`,
    );
  } else {
    lines.push('appendonly yes', 'appendfsync everysec', 'save ""');
    if (n.role === 'replica' && primary) lines.push(`replicaof 127.0.0.1 ${primary.port}`);
    if (n.bus) {
      lines.push(
        'cluster-enabled yes',
        'cluster-config-file nodes.conf',
        `cluster-port ${n.bus}`,
        'cluster-node-timeout 1000',
        // A replica always takes over, however long it was cut off: availability for a drill-sized set.
        'cluster-replica-validity-factor 0',
      );
    }
  }
  fs.mkdirSync(n.dir, { recursive: true });
  fs.writeFileSync(n.conf, `${lines.join('\n')}\n`);
  void cfg;
}

/** @param {Node} n @param {(m: string) => void} log */
async function startOne(n, log) {
  if (ourPid(n) && (await ping(n.port))) return false;
  const args = [n.conf];
  if (n.role === 'sentinel') args.push('--sentinel');
  const fd = fs.openSync(path.join(n.dir, 'console.log'), 'a');
  let child;
  try {
    child = spawn('redis-server', args, { detached: true, stdio: ['ignore', fd, fd], cwd: n.dir });
  } finally {
    fs.closeSync(fd);
  }
  const pid = child.pid;
  if (!pid) throw new Error(`could not start redis-server for ${n.conf}`);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.unref();
  fs.writeFileSync(n.pidFile, `${pid}\n`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await ping(n.port))) {
    if (exited) throw new Error(`redis ${n.role} on ${n.port} exited during start-up; see ${n.log}`);
    if (Date.now() > deadline) throw new Error(`redis ${n.role} on ${n.port}: no PONG within ${START_TIMEOUT_MS} ms; see ${n.log}`);
    await sleep(50);
  }
  log(`redis ${n.role} ready on 127.0.0.1:${n.port} (pid ${pid})`);
  return true;
}

/** @param {Node[]} ns */
async function waitClusterOk(ns, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(ns.map((n) => cli(['-p', String(n.port), 'CLUSTER', 'INFO']).catch(() => '')));
    if (states.every((s) => /cluster_state:ok/.test(s))) return;
    if (Date.now() > deadline) throw new Error(`redis cluster not ok within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** @param {StackConfig} cfg @param {string} topo @param {{ log?: (m: string) => void }} [opts] @returns {Promise<Record<string, string>>} */
async function up(cfg, topo, { log = () => {} } = {}) {
  if (topo === 'single') return {};
  const ns = nodes(cfg, topo);
  const marker = path.join(cfg.dir, `redis-${topo}`, 'initialized');
  const cold = !fs.existsSync(marker);
  if (cold) {
    fs.rmSync(path.dirname(marker), { recursive: true, force: true });
    for (const n of ns) writeConf(cfg, n, ns);
  }
  const data = ns.filter((n) => n.role !== 'sentinel');
  await Promise.all(data.map((n) => startOne(n, log)));
  await Promise.all(ns.filter((n) => n.role === 'sentinel').map((n) => startOne(n, log)));
  if (topo === 'cluster') {
    if (cold) {
      log(`creating redis cluster on ${data.map((n) => n.port).join(', ')}`);
      await cli(['--cluster', 'create', ...data.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], 60_000);
    }
    await waitClusterOk(data);
  } else {
    await waitSentinelsAgree(cfg);
  }
  if (cold) fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  return envFor(cfg, topo);
}

/** @param {StackConfig} cfg @param {string} topo @returns {Record<string, string>} */
function envFor(cfg, topo) {
  const list = (/** @type {Node['role'][]} */ roles) =>
    nodes(cfg, topo)
      .filter((n) => roles.includes(n.role))
      .map((n) => `127.0.0.1:${n.port}`)
      .join(',');
  if (topo === 'sentinel') return { STACK_REDIS: topo, REDIS_SENTINELS: list(['sentinel']), REDIS_SENTINEL_NAME: SENTINEL_NAME };
  if (topo === 'cluster') return { STACK_REDIS: topo, REDIS_CLUSTER_NODES: list(['master', 'replica']) };
  return { STACK_REDIS: topo };
}

/** Every sentinel knows the primary and both replicas: a failover now has somewhere to go. @param {StackConfig} cfg */
async function waitSentinelsAgree(cfg, timeoutMs = 30_000) {
  const sentinels = nodes(cfg, 'sentinel').filter((n) => n.role === 'sentinel');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(
      sentinels.map((s) => cli(['-p', String(s.port), 'SENTINEL', 'MASTER', SENTINEL_NAME]).catch(() => '')),
    );
    const ok = views.every((v) => {
      const f = v.trim().split('\n');
      const get = (/** @type {string} */ k) => f[f.indexOf(k) + 1];
      return f.includes('num-slaves') && Number(get('num-slaves')) >= 2 && Number(get('num-other-sentinels')) >= 2 && get('flags') === 'master';
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sentinels did not agree on ${SENTINEL_NAME} within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** @param {StackConfig} cfg @param {{ log?: (m: string) => void }} [opts] */
async function down(cfg, { log = () => {} } = {}) {
  for (const topo of ['sentinel', 'cluster']) {
    // Sentinels first: stopping the primary under them would start a failover.
    const ns = nodes(cfg, topo).sort((a, b) => Number(b.role === 'sentinel') - Number(a.role === 'sentinel'));
    for (const n of ns) {
      const pid = ourPid(n);
      if (!pid) continue;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (alive(pid) && Date.now() < deadline) await sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      log(`redis ${topo} ${n.role} on ${n.port} stopped`);
    }
  }
}

/** @param {StackConfig} cfg */
async function currentPrimary(cfg) {
  const sentinels = nodes(cfg, 'sentinel').filter((n) => n.role === 'sentinel');
  for (const s of sentinels) {
    const out = await cli(['-p', String(s.port), 'SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME]).catch(() => '');
    const port = Number(out.trim().split('\n')[1]);
    if (port) return port;
  }
  throw new Error('no sentinel answered for the primary');
}

/** @param {StackConfig} cfg */
async function clusterMasters(cfg) {
  for (const n of nodes(cfg, 'cluster')) {
    const out = await cli(['-p', String(n.port), 'CLUSTER', 'NODES']).catch(() => '');
    if (!out) continue;
    return out
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2].includes('master') && !f[2].includes('fail') && f[8])
      .map((f) => Number(f[1].split(':')[1].split('@')[0]));
  }
  throw new Error('no cluster node answered');
}

/** @param {StackConfig} cfg @param {number} port */
function nodeAt(cfg, port) {
  const n = [...nodes(cfg, 'sentinel'), ...nodes(cfg, 'cluster')].find((x) => x.port === port);
  if (!n) throw new Error(`no topology node of stack ${cfg.name} on port ${port}`);
  return n;
}

/** @param {StackConfig} cfg @param {number} port @param {NodeJS.Signals} signal */
async function killNode(cfg, port, signal = 'SIGKILL') {
  const n = nodeAt(cfg, port);
  const pid = ourPid(n);
  if (!pid) throw new Error(`redis on ${port} is not running`);
  process.kill(pid, signal);
  while (alive(pid)) await sleep(20);
}

/** @param {StackConfig} cfg @param {number} port */
async function startNode(cfg, port) {
  await startOne(nodeAt(cfg, port), () => {});
}

module.exports = { topology, nodes, up, down, envFor, currentPrimary, clusterMasters, killNode, startNode, cli, waitClusterOk, waitSentinelsAgree, SENTINEL_NAME };

if (require.main === module) {
  // node scripts/redis-topology.js up|down sentinel|cluster [--stack=NAME]
  const [cmd, topo = 'sentinel'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const name = (process.argv.find((a) => a.startsWith('--stack=')) || '--stack=dev').slice(8);
  const cfg = require('./stack').config(name);
  const log = (/** @type {string} */ m) => process.stderr.write(`${m}\n`);
  const work = cmd === 'up' ? up(cfg, topology({ STACK_REDIS: topo }), { log }).then((env) => console.log(env)) : down(cfg, { log });
  work.catch((e) => {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  });
}
