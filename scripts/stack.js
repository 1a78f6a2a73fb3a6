#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Local development/test stack for Switchboard, built from the Debian binaries:
 *   - a MariaDB primary (binlog, GTID),
 *   - a MariaDB replica replicating from it (MASTER_USE_GTID=slave_pos), and with STACK_REPLICAS=2 a
 *     second one ('replica2'; added to an existing stack as a copy of the first),
 *   - a Redis server.
 * Everything listens on 127.0.0.1 only; data lives under <repo>/.stack/<name>/.
 * STACK_REDIS=sentinel|cluster adds a Sentinel set or a Redis Cluster (scripts/redis-topology.js) and
 * up() returns its REDIS_SENTINELS / REDIS_CLUSTER_NODES; every Redis keeps an AOF.
 *
 * Module:
 *   const stack = require('./stack');
 *   stack.config(name)                      -> { name, dir, ports: { primary, replica, replica2, redis } }
 *   await stack.up(name, { log })           -> env object (idempotent; cold or warm start)
 *   await stack.down(name)                  stop the three processes of that stack
 *   await stack.stop(name, service)         stop one service ('primary' | 'replica' | 'replica2' | 'redis')
 *   await stack.start(name, service)        start it again (replication resumes)
 *   await stack.sql(name, 'primary'|'replica'|'replica2', 'SQL;' [, { database, columnNames }])  -> stdout
 *   await stack.redisCli(name, [...args])   -> stdout
 *   await stack.waitReplicaCaughtUp(name, timeoutMs)   every replica the stack runs
 *   await stack.status(name)                -> { running, pids, replication, ... }
 *   stack.list()                            -> names of the stacks under .stack/
 *   await stack.downAll()                   stop every stack under .stack/
 *
 * CLI:
 *   node scripts/stack.js up|down|status [--stack=NAME]
 *   node scripts/stack.js stop|start primary|replica|replica2|redis [--stack=NAME]
 *   node scripts/stack.js down --all
 * `up` prints the environment as KEY=value lines on stdout (progress goes to stderr).
 *
 * Ports: 'dev' -> 13306/13307/16379 (replica2 13308), 'test' -> 23306/23307/26379 (replica2 23308), any
 * other name -> a base derived from the name in 24000-31999 (below the ephemeral port range); STACK_PORT_BASE
 * overrides the base (primary = base, replica = base + 1, redis = base + 2, replica2 = base + 23: the Redis
 * topologies use base + 5 .. base + 22).
 * STACK_REPLICAS=1|2 (default 1): how many replicas up() runs; DB_READ_HOST lists them.
 *
 * Node builtins only; no npm dependencies.
 */

const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const net = require('node:net');
const crypto = require('node:crypto');
const { spawn, execFile } = require('node:child_process');
const redisTopology = require('./redis-topology');

const ROOT = path.resolve(__dirname, '..');
const STACKS_DIR = path.join(ROOT, '.stack');
const SERVICES = ['primary', 'replica', 'replica2', 'redis'];
const DB_SERVICES = ['primary', 'replica', 'replica2'];
const REPLICAS = ['replica', 'replica2'];
const SERVER_IDS = { primary: 1, replica: 2, replica2: 3 };
const FIXED_PORTS = {
  dev: { primary: 13306, replica: 13307, redis: 16379, replica2: 13308 },
  test: { primary: 23306, replica: 23307, redis: 26379, replica2: 23308 },
};
const DATABASE = 'switchboard';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const INSTALL_HINT =
  'Switchboard needs MariaDB and Redis: install the Debian packages mariadb-server mariadb-client redis-server, ' +
  'or set DB_WRITE_HOST, DB_READ_HOST and REDIS_URL to use your own';

const STOP_GRACE_MS = 10_000;
const MARIADB_START_TIMEOUT_MS = 60_000;
const REDIS_START_TIMEOUT_MS = 30_000;

/* ------------------------------------------------------------------ helpers */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** @type {(...args: unknown[]) => void} */
const noop = () => {};
const sha1 = (s) => crypto.createHash('sha1').update(String(s)).digest();
const exists = (p) => fs.existsSync(p);

/** Child environment without variables that would redirect the MariaDB / Redis clients. */
function cleanEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(MYSQL|MARIADB|REDISCLI)_/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * execFile as a promise; rejects with an Error carrying stdout/stderr.
 * @param {string} bin
 * @param {string[]} args
 * @param {{ timeout?: number, what?: string, onSpawn?: (child: import('node:child_process').ChildProcess) => void }} [opts]
 * @returns {Promise<string>}
 */
function run(bin, args, { timeout = 0, what, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout, env: cleanEnv(), windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const detail = (stderr || '').trim() || (err.killed ? `timed out after ${timeout} ms` : err.message);
          const e = /** @type {Error & { stdout?: string, stderr?: string, exitCode?: unknown }} */ (new Error(`${what || path.basename(bin)} failed: ${detail}`));
          e.stdout = stdout;
          e.stderr = stderr;
          e.exitCode = err.code;
          reject(e);
        } else {
          resolve(stdout);
        }
      },
    );
    if (onSpawn && child.pid) onSpawn(child);
  });
}

function tailFile(file, lines = 25) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').filter((l) => l.trim() !== '').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** Does something accept TCP connections on 127.0.0.1:port? */
function tcpAnswers(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

function checkName(name) {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new Error(`Invalid stack name ${JSON.stringify(name)}: use letters, digits, '_', '-', '.' (not starting with '.')`);
  }
}

function checkService(service, allowed = SERVICES) {
  if (!allowed.includes(service)) {
    throw new Error(`Unknown service ${JSON.stringify(service)}: expected one of ${allowed.join(', ')}`);
  }
}

/* ------------------------------------------------------------------ config */

/** Ports of a stack: fixed for 'dev' and 'test', derived from the name otherwise; STACK_PORT_BASE wins. */
function portsFor(name) {
  const env = process.env.STACK_PORT_BASE;
  let base;
  if (env !== undefined && env.trim() !== '') {
    base = Number(env);
    if (!Number.isInteger(base) || base < 1024 || base > 65533) {
      throw new Error(`STACK_PORT_BASE must be an integer between 1024 and 65533 (got ${JSON.stringify(env)})`);
    }
  } else if (Object.prototype.hasOwnProperty.call(FIXED_PORTS, name)) {
    return { ...FIXED_PORTS[name] };
  } else {
    // Deterministic base in 24000..31997, below Linux's ephemeral range (32768+): a listener
    // there can collide with the local end of some outgoing connection and fail to bind.
    base = 24000 + (sha1(name).readUInt32BE(0) % 7998);
  }
  return { primary: base, replica: base + 1, redis: base + 2, replica2: base + 23 };
}

/** STACK_REPLICAS: how many MariaDB replicas up() runs (1 or 2). */
function replicaCount(env = process.env) {
  const v = (env.STACK_REPLICAS ?? '').trim() || '1';
  if (v !== '1' && v !== '2') throw new Error(`STACK_REPLICAS must be 1 or 2 (got ${JSON.stringify(env.STACK_REPLICAS)})`);
  return Number(v);
}

/** The replicas the stack runs now: as the last up() recorded, else as STACK_REPLICAS says. */
function activeReplicas(L) {
  try {
    const n = Number(fs.readFileSync(L.replicasFile, 'utf8').trim());
    if (n === 1 || n === 2) return REPLICAS.slice(0, n);
  } catch {
    /* no up() yet */
  }
  return REPLICAS.slice(0, replicaCount());
}

function config(name = 'dev') {
  checkName(name);
  return { name, dir: path.join(STACKS_DIR, name), ports: portsFor(name) };
}

/** Every path of a stack. Unix sockets move to a short tmp dir when the stack path is long. */
function layout(cfg) {
  const L = {
    cfg,
    initialized: path.join(cfg.dir, 'initialized'),
    replicasFile: path.join(cfg.dir, 'replicas'),
    lock: path.join(STACKS_DIR, `.${cfg.name}.lock`),
  };
  const inDir = (svc) => path.join(cfg.dir, svc, 'mysqld.sock');
  const tooLong = DB_SERVICES.some((svc) => Buffer.byteLength(inDir(svc)) > 100);
  L.sockDir = tooLong ? path.join(os.tmpdir(), `sb-${sha1(cfg.dir).toString('hex').slice(0, 12)}`) : null;
  for (const svc of SERVICES) {
    const dir = path.join(cfg.dir, svc);
    L[svc] = {
      name: svc,
      dir,
      port: cfg.ports[svc],
      pidFile: path.join(dir, 'pid'),
      console: path.join(dir, 'console.log'),
      // Our processes carry this in their command line (--defaults-file / --logfile).
      marker: dir + path.sep,
    };
  }
  for (const svc of DB_SERVICES) {
    Object.assign(L[svc], {
      cnf: path.join(L[svc].dir, 'my.cnf'),
      data: path.join(L[svc].dir, 'data'),
      errorLog: path.join(L[svc].dir, 'error.log'),
      serverPidFile: path.join(L[svc].dir, 'mysqld.pid'),
      socket: tooLong ? path.join(L.sockDir, `${svc}.sock`) : inDir(svc),
      // A replica added to an existing stack is ready once this exists (its copy and replication set up).
      ready: path.join(L[svc].dir, 'ready'),
    });
  }
  L.redis.log = path.join(L.redis.dir, 'redis.log');
  return L;
}

function envFor(cfg, replicas = REPLICAS.slice(0, 1)) {
  return {
    DB_WRITE_HOST: '127.0.0.1',
    DB_WRITE_PORT: String(cfg.ports.primary),
    DB_READ_HOST: replicas.map((r) => `127.0.0.1:${cfg.ports[r]}`).join(','),
    STACK_REPLICAS: String(replicas.length),
    DB_DATABASE: DATABASE,
    DB_USERNAME: 'root',
    DB_PASSWORD: '',
    REDIS_URL: `redis://127.0.0.1:${cfg.ports.redis}`,
  };
}

/* ------------------------------------------------------------------ binaries */

const BINARIES = {
  mariadbd: ['mariadbd', 'mysqld'],
  installDb: ['mariadb-install-db', 'mysql_install_db'],
  client: ['mariadb', 'mysql'],
  redisServer: ['redis-server'],
  redisCli: ['redis-cli'],
};
const EXTRA_PATH = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin'];
let binCache = null;

function which(names) {
  const dirs = [...(process.env.PATH || '').split(path.delimiter).filter(Boolean), ...EXTRA_PATH];
  for (const n of names) {
    for (const d of dirs) {
      const p = path.join(d, n);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        if (fs.statSync(p).isFile()) return p;
      } catch {
        /* keep looking */
      }
    }
  }
  return null;
}

function findBinaries() {
  const found = {};
  const missing = [];
  for (const [key, names] of Object.entries(BINARIES)) {
    found[key] = which(names);
    if (!found[key]) missing.push(names[0]);
  }
  return { found, missing };
}

/** Binaries for the client-only helpers (sql, redisCli): never installs. */
function binaries() {
  if (binCache) return binCache;
  const { found, missing } = findBinaries();
  if (missing.length) throw new Error(`${INSTALL_HINT} (missing: ${missing.join(', ')})`);
  binCache = found;
  return found;
}

function runStreaming(bin, args, log, env) {
  return new Promise((/** @type {(v?: unknown) => void} */ resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = [];
    const onData = (buf) => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        log(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${bin} ${args.join(' ')} exited with ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/** Find the binaries; install the Debian packages when missing and allowed (root + apt-get). */
async function ensureBinaries(log) {
  if (binCache) return binCache;
  let { found, missing } = findBinaries();
  if (missing.length) {
    if (!(IS_ROOT && exists('/usr/bin/apt-get'))) {
      throw new Error(`${INSTALL_HINT} (missing: ${missing.join(', ')})`);
    }
    await withFileLock(path.join(STACKS_DIR, '.install.lock'), async () => {
      ({ found, missing } = findBinaries());
      if (!missing.length) return;
      log(`missing ${missing.join(', ')}: installing mariadb-server mariadb-client redis-server with apt-get`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      try {
        await runStreaming('/usr/bin/apt-get', ['update'], log, env);
        await runStreaming('/usr/bin/apt-get', ['install', '-y', 'mariadb-server', 'mariadb-client', 'redis-server'], log, env);
      } catch (e) {
        throw new Error(`${INSTALL_HINT}\napt-get failed: ${e.message}`);
      }
      ({ found, missing } = findBinaries());
    });
    if (missing.length) throw new Error(`${INSTALL_HINT} (still missing after apt-get: ${missing.join(', ')})`);
  }
  binCache = found;
  return found;
}

/* ------------------------------------------------------------------ locking */

const inProcessQueues = new Map();

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Cross-process lock: a file created with O_EXCL holding the owner's pid; stale locks are taken over. */
async function withFileLock(file, fn, timeoutMs = 10 * 60_000) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = 0;
      let age = 0;
      try {
        owner = parseInt(fs.readFileSync(file, 'utf8'), 10) || 0;
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // vanished meanwhile
      }
      const stale = !owner || owner === process.pid || !pidAlive(owner) || age > 15 * 60_000;
      if (stale) {
        try {
          fs.unlinkSync(file);
        } catch {
          /* someone else removed it */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for lock ${file} held by pid ${owner}`);
      if (!warned) {
        warned = true;
        process.stderr.write(`waiting for ${path.basename(file)} (held by pid ${owner})\n`);
      }
      await sleep(150);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
}

/** Serialise operations on one stack: within this process (queue) and across processes (lock file). */
async function withStackLock(cfg, fn) {
  const key = cfg.name;
  const previous = inProcessQueues.get(key) || Promise.resolve();
  /** @type {() => void} */
  let release = noop;
  const mine = new Promise((/** @type {(v?: unknown) => void} */ resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  inProcessQueues.set(key, tail);
  await previous;
  try {
    return await withFileLock(layout(cfg).lock, fn);
  } finally {
    release();
    if (inProcessQueues.get(key) === tail) inProcessQueues.delete(key);
  }
}

/* ------------------------------------------------------------------ processes */

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch (e) {
    if (e.code === 'ENOENT' && !exists('/proc/self')) {
      // Not Linux: fall back to ps.
      try {
        return require('node:child_process')
          .execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' })
          .trim();
      } catch {
        return '';
      }
    }
    return '';
  }
}

/** Is pid alive and one of our processes for this service? (zombies have an empty cmdline) */
function isOurs(pid, svcL) {
  if (!pid || !pidAlive(pid)) return false;
  return cmdline(pid).includes(svcL.marker);
}

function recordedPid(svcL) {
  for (const f of [svcL.pidFile, svcL.serverPidFile].filter(Boolean)) {
    try {
      const pid = parseInt(fs.readFileSync(f, 'utf8'), 10);
      if (pid > 0 && isOurs(pid, svcL)) return pid;
    } catch {
      /* no such file */
    }
  }
  return null;
}

async function waitGone(pid, svcL, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isOurs(pid, svcL)) return true;
    await sleep(50);
  }
  return !isOurs(pid, svcL);
}

/** SIGTERM, wait up to 10 s, then SIGKILL — only for verified pids of our own. */
async function killOurs(pid, svcL, log = noop) {
  if (!isOurs(pid, svcL)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if (e.code === 'ESRCH') return;
    throw e;
  }
  if (await waitGone(pid, svcL, STOP_GRACE_MS)) return;
  log(`${svcL.name}: pid ${pid} did not exit within ${STOP_GRACE_MS / 1000} s, sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if (e.code === 'ESRCH') return;
    throw e;
  }
  if (!(await waitGone(pid, svcL, 5000))) throw new Error(`${svcL.name}: pid ${pid} survived SIGKILL`);
}

async function stopService(L, svc, log = noop) {
  const svcL = L[svc];
  const pid = recordedPid(svcL);
  if (pid) {
    log(`${L.cfg.name}: stopping ${svc} (pid ${pid})`);
    await killOurs(pid, svcL, log);
  }
  for (const f of [svcL.pidFile, svcL.serverPidFile].filter(Boolean)) fs.rmSync(f, { force: true });
  return Boolean(pid);
}

/** Spawn a long-running server detached from us, stdout/stderr into a file; record its pid. */
function spawnDetached(bin, args, svcL) {
  fs.mkdirSync(svcL.dir, { recursive: true });
  const fd = fs.openSync(svcL.console, 'a');
  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], cwd: svcL.dir, env: cleanEnv() });
  } finally {
    fs.closeSync(fd);
  }
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`could not start ${bin}: ${e.message}`)));
    child.once('spawn', () => {
      /** @type {{ child: import('node:child_process').ChildProcess, pid: number | undefined, exited: { code: number | null, signal: NodeJS.Signals | null } | null }} */
      const state = { child, pid: child.pid, exited: null };
      child.once('exit', (code, signal) => (state.exited = { code, signal }));
      child.unref();
      fs.writeFileSync(svcL.pidFile, `${child.pid}\n`);
      resolve(state);
    });
  });
}

function portTakenError(cfg, svc) {
  const p = cfg.ports[svc];
  return new Error(
    `Port ${p} (stack '${cfg.name}' ${svc}) is already in use by a process this stack did not start. ` +
      `Stop it, or set STACK_PORT_BASE to another base (primary=base, replica=base+1, redis=base+2, replica2=base+23), ` +
      `e.g. STACK_PORT_BASE=${cfg.ports.primary + 100}`,
  );
}

/* ------------------------------------------------------------------ MariaDB */

function writeMyCnf(L, svc) {
  const s = L[svc];
  const replica = svc !== 'primary';
  // log-basename must come first: it resets log/binlog/pid names that appear before it.
  const lines = [
    '# Generated by scripts/stack.js — rewritten on every start.',
    '[mysqld]',
    `log-basename=${svc}`,
    `datadir=${s.data}`,
    `socket=${s.socket}`,
    `port=${s.port}`,
    'bind-address=127.0.0.1',
    `pid-file=${s.serverPidFile}`,
    `log-error=${s.errorLog}`,
    `server-id=${SERVER_IDS[svc]}`,
    `log-bin=${svc}-bin`,
    `log-bin-index=${svc}-bin.index`,
    'binlog-format=ROW',
    'skip-name-resolve',
    'innodb-buffer-pool-size=64M',
    'innodb-log-file-size=16M',
    // Dev/test stack: no fsync per commit (data survives a mariadbd crash, not an OS crash).
    'innodb-flush-log-at-trx-commit=2',
    'performance-schema=OFF',
    'max-connections=500',
    // Port probes must never get 127.0.0.1 blocked.
    'max-connect-errors=1000000',
    'character-set-server=utf8mb4',
    'collation-server=utf8mb4_unicode_ci',
  ];
  if (replica) {
    lines.push('read-only=1', `relay-log=${svc}-relay-bin`, `relay-log-index=${svc}-relay-bin.index`);
  }
  fs.mkdirSync(s.dir, { recursive: true });
  fs.writeFileSync(s.cnf, `${lines.join('\n')}\n`);
}

/**
 * @param {string} socket
 * @param {string} sqlText
 * @param {{ columnNames?: boolean, vertical?: boolean, database?: string, connectTimeout?: number }} [opts]
 */
function clientArgs(socket, sqlText, { columnNames = false, vertical = false, database, connectTimeout } = {}) {
  const args = ['--no-defaults', '--protocol=socket', `--socket=${socket}`, '--user=root', '--batch'];
  if (!columnNames && !vertical) args.push('--skip-column-names');
  if (vertical) args.push('--vertical');
  if (connectTimeout) args.push(`--connect-timeout=${connectTimeout}`);
  args.push('-e', sqlText);
  if (database) args.push(database);
  return args;
}

function sqlOn(L, svc, sqlText, opts = {}) {
  const bins = binaries();
  return run(bins.client, clientArgs(L[svc].socket, sqlText, opts), {
    timeout: opts.timeout || 0,
    what: `SQL on ${L.cfg.name}/${svc} (${sqlText.replace(/\s+/g, ' ').slice(0, 80)})`,
  });
}

async function slaveStatus(L, svc = 'replica') {
  const out = await sqlOn(L, svc, 'SHOW SLAVE STATUS', { vertical: true, timeout: 10_000, connectTimeout: 2 });
  const st = {};
  for (const line of out.split('\n')) {
    const m = /^\s*([A-Za-z_]+): ?(.*)$/.exec(line);
    if (m) st[m[1]] = m[2];
  }
  return Object.keys(st).length ? st : null;
}

async function mariadbAnswers(L, svc) {
  try {
    // mariadbd aborts when it cannot bind its port, so a socket answer with the right @@port is enough
    // (a bare TCP probe would only add "Aborted connection" warnings to the error log).
    const out = await sqlOn(L, svc, 'SELECT @@port', { timeout: 5000, connectTimeout: 2 });
    return parseInt(out.trim(), 10) === L[svc].port;
  } catch {
    return false;
  }
}

async function startMariadb(L, svc, log) {
  const bins = binaries();
  const s = L[svc];
  if (L.sockDir) fs.mkdirSync(L.sockDir, { recursive: true, mode: 0o700 });
  writeMyCnf(L, svc);
  const args = [`--defaults-file=${s.cnf}`];
  if (IS_ROOT) args.push('--user=root');
  const t0 = Date.now();
  log(`${L.cfg.name}: starting ${svc} (mariadbd) on 127.0.0.1:${s.port}`);
  const state = await spawnDetached(bins.mariadbd, args, s);
  const deadline = Date.now() + MARIADB_START_TIMEOUT_MS;
  for (;;) {
    try {
      await sqlOn(L, svc, 'SELECT 1', { timeout: 5000, connectTimeout: 2 });
      break;
    } catch (e) {
      if (state.exited || !pidAlive(state.pid)) {
        fs.rmSync(s.pidFile, { force: true });
        throw new Error(
          `${L.cfg.name}/${svc}: mariadbd exited during startup` +
            (state.exited ? ` (code ${state.exited.code}, signal ${state.exited.signal})` : '') +
            `; last lines of ${s.errorLog}:\n${tailFile(s.errorLog)}`,
        );
      }
      if (Date.now() > deadline) {
        await killOurs(state.pid, s, log);
        throw new Error(
          `${L.cfg.name}/${svc}: mariadbd did not answer within ${MARIADB_START_TIMEOUT_MS / 1000} s (${e.message}); ` +
            `last lines of ${s.errorLog}:\n${tailFile(s.errorLog)}`,
        );
      }
      await sleep(100);
    }
  }
  log(`${L.cfg.name}: ${svc} ready (pid ${state.pid}, ${Date.now() - t0} ms)`);
}

/* ------------------------------------------------------------------ Redis */

async function redisPing(L) {
  try {
    const out = await run(binaries().redisCli, ['-h', '127.0.0.1', '-p', String(L.redis.port), 'ping'], { timeout: 3000 });
    return out.trim() === 'PONG';
  } catch {
    return false;
  }
}

async function redisAnswers(L, pid) {
  // Our redis keeps its argv (--set-proc-title no): check it was started for this port.
  const args = cmdline(pid).split(' ');
  const i = args.indexOf('--port');
  if (i < 0 || args[i + 1] !== String(L.redis.port)) return false;
  return redisPing(L);
}

async function startRedis(L, log) {
  const bins = binaries();
  const s = L.redis;
  const args = [
    '--port', String(s.port),
    '--bind', '127.0.0.1',
    '--daemonize', 'no',
    // Durable like a production Redis holding sessions and queues: a restart keeps them.
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--dir', s.dir,
    '--logfile', s.log,
    '--set-proc-title', 'no',
  ];
  const t0 = Date.now();
  log(`${L.cfg.name}: starting redis on 127.0.0.1:${s.port}`);
  const state = await spawnDetached(bins.redisServer, args, s);
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  while (!(await redisPing(L))) {
    if (state.exited || !pidAlive(state.pid)) {
      fs.rmSync(s.pidFile, { force: true });
      throw new Error(`${L.cfg.name}/redis: redis-server exited during startup; last lines of ${s.log}:\n${tailFile(s.log)}`);
    }
    if (Date.now() > deadline) {
      await killOurs(state.pid, s, log);
      throw new Error(`${L.cfg.name}/redis: no PONG within ${REDIS_START_TIMEOUT_MS / 1000} s; last lines of ${s.log}:\n${tailFile(s.log)}`);
    }
    await sleep(50);
  }
  log(`${L.cfg.name}: redis ready (pid ${state.pid}, ${Date.now() - t0} ms)`);
}

/* ------------------------------------------------------------------ services */

async function serviceAnswers(L, svc, pid) {
  return svc === 'redis' ? redisAnswers(L, pid) : mariadbAnswers(L, svc);
}

/**
 * Decide whether a service must be started: 'running' when our process answers on the
 * configured port, 'start' otherwise. Throws when a foreign process holds the port.
 */
async function plan(L, svc, log) {
  const pid = recordedPid(L[svc]);
  if (pid) {
    // Our process is alive; give a server that is still starting (crash recovery) some time.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (await serviceAnswers(L, svc, pid)) return 'running';
      if (!isOurs(pid, L[svc]) || Date.now() > deadline) break;
      // A server bound to another port (STACK_PORT_BASE changed) will never answer: stop waiting.
      if (svc !== 'redis') {
        try {
          const port = parseInt(await sqlOn(L, svc, 'SELECT @@port', { timeout: 3000, connectTimeout: 1 }), 10);
          if (port !== L[svc].port) break;
        } catch {
          /* not up yet */
        }
      } else {
        break;
      }
      await sleep(250);
    }
    log(`${L.cfg.name}: ${svc} (pid ${pid}) does not answer on port ${L[svc].port}; restarting it`);
    await killOurs(pid, L[svc], log);
  }
  if (await tcpAnswers(L[svc].port)) throw portTakenError(L.cfg, svc);
  return 'start';
}

async function startService(L, svc, log) {
  if (svc === 'redis') return startRedis(L, log);
  return startMariadb(L, svc, log);
}

/** Point the replica at the primary (when needed) and make sure the slave threads run. */
async function ensureReplication(L, log, { force = false, svc = 'replica' } = {}) {
  const st = force ? null : await slaveStatus(L, svc);
  const port = L.cfg.ports.primary;
  if (!st || st.Master_Host !== '127.0.0.1' || st.Master_Port !== String(port) || st.Master_User !== 'repl') {
    log(`${L.cfg.name}: configuring replication ${svc} <- 127.0.0.1:${port}`);
    await sqlOn(
      L,
      svc,
      'STOP SLAVE; ' +
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${port}, MASTER_USER='repl', MASTER_PASSWORD='repl', ` +
        'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; ' +
        'START SLAVE;',
    );
  } else {
    // Harmless when already running (only a note).
    await sqlOn(L, svc, 'START SLAVE;');
  }
}

function parseGtidPos(text) {
  const m = new Map();
  for (const part of String(text).trim().split(',')) {
    const p = part.trim();
    if (!p) continue;
    const [domain, , seq] = p.split('-');
    m.set(domain, BigInt(seq));
  }
  return m;
}

/** true when every domain of the primary's binlog position is applied on the replica. */
function gtidCovered(primaryPos, replicaPos) {
  const want = parseGtidPos(primaryPos);
  const have = parseGtidPos(replicaPos);
  for (const [domain, seq] of want) {
    if (!have.has(domain) || have.get(domain) < seq) return false;
  }
  return true;
}

async function waitCaughtUp(L, timeoutMs = 30_000, svc = 'replica') {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let lastStatusCheck = 0;
  for (;;) {
    try {
      const [p, r] = await Promise.all([
        sqlOn(L, 'primary', 'SELECT @@GLOBAL.gtid_binlog_pos', { timeout: 5000, connectTimeout: 2 }),
        sqlOn(L, svc, 'SELECT @@GLOBAL.gtid_slave_pos', { timeout: 5000, connectTimeout: 2 }),
      ]);
      if (gtidCovered(p, r)) return { primary: p.trim(), replica: r.trim() };
      last = `primary gtid_binlog_pos=${p.trim() || '(empty)'}, ${svc} gtid_slave_pos=${r.trim() || '(empty)'}`;
      if (Date.now() - lastStatusCheck > 1000) {
        lastStatusCheck = Date.now();
        const st = await slaveStatus(L, svc);
        if (st && st.Slave_SQL_Running === 'No' && st.Last_SQL_Errno && st.Last_SQL_Errno !== '0') {
          throw Object.assign(
            new Error(`${L.cfg.name}: ${svc} replication SQL thread stopped with error ${st.Last_SQL_Errno}: ${st.Last_SQL_Error}`),
            { fatal: true },
          );
        }
        if (st) {
          last += `; Slave_IO_Running=${st.Slave_IO_Running}, Slave_SQL_Running=${st.Slave_SQL_Running}`;
          if (st.Last_IO_Error) last += `, Last_IO_Error=${st.Last_IO_Error}`;
        } else {
          last += '; replica has no replication configured';
        }
      }
    } catch (e) {
      if (e.fatal) throw e;
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${L.cfg.name}: ${svc} did not catch up with the primary within ${timeoutMs} ms (${last})`);
    }
    await sleep(50);
  }
}

/** Every given replica caught up with the primary. */
async function waitAllCaughtUp(L, replicas, timeoutMs = 30_000) {
  const positions = await Promise.all(replicas.map((svc) => waitCaughtUp(L, timeoutMs, svc)));
  return positions[0];
}

/* ------------------------------------------------------------------ up */

const PRIMARY_INIT_SQL = [
  "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''",
  "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
  "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ''",
  "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION",
  "CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'",
  "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'",
  `CREATE DATABASE IF NOT EXISTS ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
]
  .map((s) => `${s};`)
  .join(' ');

async function stopAll(L, log) {
  const results = await Promise.allSettled(SERVICES.map((svc) => stopService(L, svc, log)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (L.sockDir) {
    try {
      fs.rmdirSync(L.sockDir); // only when empty
    } catch {
      /* not empty or absent */
    }
  }
  if (failed.length) throw failed[0].reason;
}

async function coldStart(L, bins, log, replicas) {
  const { cfg } = L;
  const services = ['primary', ...replicas, 'redis'];
  if (exists(cfg.dir)) {
    log(`${cfg.name}: ${cfg.dir} has an incomplete set-up; starting over`);
    // An interrupted `up` may have left mariadb-install-db running: let it finish, never delete under it.
    const installPidFile = path.join(L.primary.dir, 'install.pid');
    const installPid = exists(installPidFile) ? parseInt(fs.readFileSync(installPidFile, 'utf8'), 10) : 0;
    if (installPid && isOurs(installPid, L.primary)) {
      log(`${cfg.name}: waiting for an earlier mariadb-install-db (pid ${installPid}) to finish`);
      if (!(await waitGone(installPid, L.primary, 120_000))) {
        throw new Error(`${cfg.name}: mariadb-install-db (pid ${installPid}) still running after 120 s`);
      }
    }
    await stopAll(L, log);
    fs.rmSync(cfg.dir, { recursive: true, force: true });
  }
  for (const svc of services) {
    if (await tcpAnswers(cfg.ports[svc])) throw portTakenError(cfg, svc);
  }
  for (const svc of services) fs.mkdirSync(L[svc].dir, { recursive: true });
  if (L.sockDir) fs.mkdirSync(L.sockDir, { recursive: true, mode: 0o700 });
  for (const svc of ['primary', ...replicas]) writeMyCnf(L, svc);

  let t = Date.now();
  log(`${cfg.name}: initialising MariaDB data directory`);
  const installArgs = [`--defaults-file=${L.primary.cnf}`, '--skip-test-db'];
  // As root, root@localhost authenticates through unix_socket. Otherwise give root an empty
  // password so that `mariadb -uroot` over the socket works for a non-root OS user too.
  installArgs.push(...(IS_ROOT ? ['--user=root'] : ['--auth-root-authentication-method=normal']));
  try {
    const out = await run(bins.installDb, installArgs, {
      what: 'mariadb-install-db',
      onSpawn: (child) => fs.writeFileSync(path.join(L.primary.dir, 'install.pid'), `${child.pid}\n`),
    });
    fs.writeFileSync(path.join(L.primary.dir, 'install.log'), out);
  } catch (e) {
    fs.writeFileSync(path.join(L.primary.dir, 'install.log'), `${e.stdout || ''}\n${e.stderr || ''}`);
    throw new Error(`${e.message}\n${tailFile(L.primary.errorLog)}`);
  }
  // One install, copied: every replica starts from the same empty state with an empty gtid_slave_pos.
  for (const svc of replicas) await run('cp', ['-a', L.primary.data, L[svc].data]);
  log(`${cfg.name}: data directories ready (${Date.now() - t} ms)`);

  try {
    t = Date.now();
    await Promise.all(services.map((svc) => startService(L, svc, log)));
    await sqlOn(L, 'primary', PRIMARY_INIT_SQL);
    for (const svc of replicas) await ensureReplication(L, log, { force: true, svc });
    await waitAllCaughtUp(L, replicas, 60_000);
    for (const svc of replicas) {
      const dbs = await sqlOn(L, svc, `SHOW DATABASES LIKE '${DATABASE}'`);
      if (dbs.trim() !== DATABASE) throw new Error(`${cfg.name}: database ${DATABASE} did not reach ${svc}`);
      fs.writeFileSync(L[svc].ready, `${new Date().toISOString()}\n`);
    }
    log(`${cfg.name}: servers up, replication running (${Date.now() - t} ms)`);
  } catch (e) {
    await stopAll(L, log).catch(noop);
    throw e;
  }
  fs.writeFileSync(
    L.initialized,
    `${JSON.stringify({ createdAt: new Date().toISOString(), ports: cfg.ports }, null, 2)}\n`,
  );
}

/**
 * A replica added to an existing stack: a copy of the first replica's data taken while it is stopped
 * (so it resumes from that replica's gtid_slave_pos), without its replication settings and relay
 * logs, which name the first replica's files; warmStart then points it at the primary.
 */
async function cloneReplica(L, svc, log) {
  if (svc === 'replica') throw new Error(`${L.cfg.name}: the first replica has no data (${L.replica.data}): \`node scripts/stack.js down --stack=${L.cfg.name}\`, remove .stack/${L.cfg.name} and start again`);
  const t = Date.now();
  log(`${L.cfg.name}: setting up ${svc} as a copy of replica`);
  await stopService(L, svc, log);
  if (await tcpAnswers(L.cfg.ports[svc])) throw portTakenError(L.cfg, svc);
  fs.rmSync(L[svc].dir, { recursive: true, force: true });
  fs.mkdirSync(L[svc].dir, { recursive: true });
  await stopService(L, 'replica', log);
  await run('cp', ['-a', L.replica.data, L[svc].data]);
  for (const f of fs.readdirSync(L[svc].data)) {
    if (/^(master\.info|relay-log\.info|multi-master\.info|replica-relay-bin\..*|replica-bin\..*)$/.test(f)) fs.rmSync(path.join(L[svc].data, f), { force: true });
  }
  writeMyCnf(L, svc);
  log(`${L.cfg.name}: ${svc} data copied (${Date.now() - t} ms)`);
}

async function warmStart(L, log, replicas) {
  for (const svc of replicas) {
    if (exists(L[svc].ready)) continue;
    // The first replica of a stack made before replicas were marked ready: its data is there already.
    if (svc === 'replica' && exists(L.replica.data)) {
      fs.writeFileSync(L.replica.ready, `${new Date().toISOString()}\n`);
      continue;
    }
    await cloneReplica(L, svc, log);
  }
  const services = ['primary', ...replicas, 'redis'];
  // A replica this run does not use is stopped (its data stays for the next STACK_REPLICAS=2).
  for (const svc of REPLICAS.filter((r) => !replicas.includes(r))) {
    if (await stopService(L, svc, log)) log(`${L.cfg.name}: ${svc} stopped (STACK_REPLICAS=${replicas.length})`);
  }
  const decisions = {};
  for (const svc of services) decisions[svc] = await plan(L, svc, log);
  const toStart = services.filter((svc) => decisions[svc] === 'start');
  await Promise.all(toStart.map((svc) => startService(L, svc, log)));
  for (const svc of replicas) await ensureReplication(L, log, { svc });
  await waitAllCaughtUp(L, replicas, 60_000);
  for (const svc of replicas) if (!exists(L[svc].ready)) fs.writeFileSync(L[svc].ready, `${new Date().toISOString()}\n`);
  return toStart;
}

async function up(name = 'dev', { log = noop } = {}) {
  const cfg = config(name);
  const L = layout(cfg);
  return withStackLock(cfg, async () => {
    const t0 = Date.now();
    const replicas = REPLICAS.slice(0, replicaCount());
    const bins = await ensureBinaries(log);
    if (!exists(L.initialized)) {
      await coldStart(L, bins, log, replicas);
      log(`${cfg.name}: stack created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } else {
      const started = await warmStart(L, log, replicas);
      log(
        `${cfg.name}: stack ${started.length ? `up (started ${started.join(', ')})` : 'already running'} ` +
          `in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    fs.writeFileSync(L.replicasFile, `${replicas.length}\n`);
    return { ...envFor(cfg, replicas), ...(await redisTopology.up(cfg, redisTopology.topology(), { log })) };
  });
}

/* ------------------------------------------------------------------ public API */

async function down(name = 'dev', { log = noop } = {}) {
  const cfg = config(name);
  const L = layout(cfg);
  return withStackLock(cfg, async () => {
    await redisTopology.down(cfg, { log });
    await stopAll(L, log);
  });
}

async function stop(name, service, { log = noop } = {}) {
  checkService(service);
  const cfg = config(name);
  const L = layout(cfg);
  return withStackLock(cfg, () => stopService(L, service, log));
}

async function start(name, service, { log = noop } = {}) {
  checkService(service);
  const cfg = config(name);
  const L = layout(cfg);
  return withStackLock(cfg, async () => {
    if (!exists(L.initialized)) throw new Error(`Stack '${name}' is not set up: run stack.up('${name}') first`);
    if (service === 'replica2' && !exists(L.replica2.ready)) throw new Error(`Stack '${name}' has no replica2: run stack.up('${name}') with STACK_REPLICAS=2 first`);
    await ensureBinaries(log);
    if ((await plan(L, service, log)) === 'start') await startService(L, service, log);
    if (REPLICAS.includes(service)) await ensureReplication(L, log, { svc: service });
  });
}

async function sql(name, target, sqlText, opts = {}) {
  checkService(target, DB_SERVICES);
  const L = layout(config(name));
  return sqlOn(L, target, sqlText, opts);
}

async function redisCli(name, args = []) {
  const cfg = config(name);
  return run(binaries().redisCli, ['-h', '127.0.0.1', '-p', String(cfg.ports.redis), ...args.map(String)], {
    what: `redis-cli on ${name} (${args.join(' ').slice(0, 80)})`,
  });
}

async function waitReplicaCaughtUp(name, timeoutMs = 30_000) {
  const L = layout(config(name));
  return waitAllCaughtUp(L, activeReplicas(L), timeoutMs);
}

/** Replication state of one replica, for status(). */
async function replicationOf(L, svc) {
  try {
    const st = await slaveStatus(L, svc);
    const pos = (await sqlOn(L, svc, 'SELECT @@GLOBAL.gtid_slave_pos', { timeout: 5000 })).trim();
    return (
      st && {
        io: st.Slave_IO_Running,
        sql: st.Slave_SQL_Running,
        secondsBehind: st.Seconds_Behind_Master,
        gtidSlavePos: pos,
        lastIoError: st.Last_IO_Error || '',
        lastSqlError: st.Last_SQL_Error || '',
      }
    );
  } catch (e) {
    return { error: e.message };
  }
}

async function status(name = 'dev') {
  const cfg = config(name);
  const L = layout(cfg);
  const replicas = activeReplicas(L);
  const shown = SERVICES.filter((svc) => !REPLICAS.includes(svc) || replicas.includes(svc));
  const services = {};
  for (const svc of shown) {
    const pid = recordedPid(L[svc]);
    services[svc] = { port: cfg.ports[svc], pid, running: Boolean(pid) && (await serviceAnswers(L, svc, pid)) };
  }
  const replications = {};
  for (const svc of replicas) replications[svc] = services[svc].running ? await replicationOf(L, svc) : null;
  return {
    name,
    dir: cfg.dir,
    ports: cfg.ports,
    initialized: exists(L.initialized),
    running: shown.every((svc) => services[svc].running),
    services,
    replicas,
    replication: replications.replica ?? null,
    replications,
  };
}

function list() {
  try {
    return fs
      .readdirSync(STACKS_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .filter((n) => /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(n));
  } catch {
    return [];
  }
}

async function downAll({ log = noop } = {}) {
  const names = list();
  for (const name of names) await down(name, { log });
  return names;
}

module.exports = {
  config,
  which,
  tcpAnswers,
  pidAlive,
  up,
  down,
  stop,
  start,
  sql,
  redisCli,
  waitReplicaCaughtUp,
  status,
  list,
  downAll,
  env: (name = 'dev') => {
    const cfg = config(name);
    return envFor(cfg, activeReplicas(layout(cfg)));
  },
  replicaCount,
  INSTALL_HINT,
};

/* ------------------------------------------------------------------ CLI */

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ _: string[], stack: string, all: boolean, help?: boolean }} */
  const out = { _: [], stack: 'dev', all: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--stack=')) out.stack = a.slice('--stack='.length);
    else if (a === '--stack') out.stack = argv[++i];
    else if (a === '--all') out.all = true;
    else if (a === '-h' || a === '--help') out.help = true;
    else out._.push(a);
  }
  return out;
}

const USAGE = `usage:
  node scripts/stack.js up [--stack=NAME]              start or reuse the stack, print KEY=value env lines
  node scripts/stack.js down [--stack=NAME | --all]    stop the stack (data kept under .stack/NAME)
  node scripts/stack.js status [--stack=NAME]          show processes and replication state
  node scripts/stack.js stop|start primary|replica|replica2|redis [--stack=NAME]
Default stack: dev. STACK_REPLICAS=2 adds a second replica. STACK_PORT_BASE=N uses ports N, N+1, N+2 (replica2: N+23).`;

async function main(argv) {
  const args = parseArgs(argv);
  const cmd = args._[0];
  const log = (msg) => process.stderr.write(`${msg}\n`);
  if (args.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return args.help ? 0 : 2;
  }
  switch (cmd) {
    case 'up': {
      const env = await up(args.stack, { log });
      for (const [k, v] of Object.entries(env)) process.stdout.write(`${k}=${v}\n`);
      return 0;
    }
    case 'down': {
      if (args.all) {
        const names = await downAll({ log });
        log(names.length ? `stopped stacks: ${names.join(', ')}` : 'no stacks under .stack/');
      } else {
        await down(args.stack, { log });
        log(`${args.stack}: stopped`);
      }
      return 0;
    }
    case 'status': {
      const st = await status(args.stack);
      const lines = [`stack ${st.name} (${st.dir})${st.initialized ? '' : ' — not set up'}`];
      for (const [svc, s] of Object.entries(st.services)) {
        lines.push(
          `  ${svc.padEnd(8)} 127.0.0.1:${s.port}  ${s.running ? `running (pid ${s.pid})` : s.pid ? `not answering (pid ${s.pid})` : 'stopped'}`,
        );
      }
      for (const [svc, r] of Object.entries(st.replications)) {
        if (!r) continue;
        if (r.error) lines.push(`  ${svc} replication: ${r.error}`);
        else {
          lines.push(`  ${svc} replication: io=${r.io} sql=${r.sql} behind=${r.secondsBehind}s gtid_slave_pos=${r.gtidSlavePos || '(empty)'}`);
          if (r.lastIoError) lines.push(`    last IO error: ${r.lastIoError}`);
          if (r.lastSqlError) lines.push(`    last SQL error: ${r.lastSqlError}`);
        }
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      return st.running ? 0 : 1;
    }
    case 'stop':
    case 'start': {
      const svc = args._[1];
      checkService(svc);
      if (cmd === 'stop') {
        const was = await stop(args.stack, svc, { log });
        log(`${args.stack}: ${svc} ${was ? 'stopped' : 'was not running'}`);
      } else {
        await start(args.stack, svc, { log });
        log(`${args.stack}: ${svc} running`);
      }
      return 0;
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`${err && err.message ? err.message : err}\n`);
      process.exitCode = 1;
    },
  );
}
