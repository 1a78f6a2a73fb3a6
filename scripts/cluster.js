'use strict';
/**
 * Cluster mode (`npm run up -- --instances N`): the production topology on one machine.
 *
 *   nginx on PORT (nginx/templates/switchboard.conf.template: address hash, WebSocket upgrade, passive failover)
 *     -> N api processes on PORT+1 ... PORT+N   (supervisor/switchboard-api.conf, one program per port)
 *   SWITCHBOARD_WORKERS (2) workers, metrics on PORT+101...   (supervisor/switchboard-worker.conf)
 *   the scheduler                                (supervisor/switchboard-scheduler.conf)
 *   all run by one supervisord in the foreground, from configuration rendered into
 *   .stack/.clusters/<name>/ (never /etc): the shipped programs with their %(ENV_SWITCHBOARD_*)s filled in,
 *   the app's environment on their environment= lines. Ctrl-C or `npm run down` stops everything;
 *   `npm run cluster -- ...` (scripts/cluster-ctl.js) changes it while it runs.
 *
 * Plain Node, no dependencies (runs before anything is built). Used by scripts/up.js (run),
 * scripts/down.js (stopRunning) and the cluster e2e test (start / stop).
 */
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const stack = require('./stack');

const ROOT = path.join(__dirname, '..');
const CLUSTERS_DIR = path.join(ROOT, '.stack', '.clusters');
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const INSTALL_HINT = 'cluster mode needs nginx and supervisor: apt-get install -y nginx supervisor (or put nginx, supervisord and supervisorctl on PATH)';
/** Workers of a cluster unless --workers or SWITCHBOARD_WORKERS says otherwise. */
const DEFAULT_WORKERS = 2;
const MAX_INSTANCES = 16;
const MAX_WORKERS = 32;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const noop = () => {};

/* ------------------------------------------------------------------ tools */

/** An executable on PATH or in the sbin/bin folders (the stack manager's finder). */
const which = (name) => stack.which([name]);

function findTools() {
  const tools = { nginx: which('nginx'), supervisord: which('supervisord'), supervisorctl: which('supervisorctl') };
  return { tools, missing: Object.entries(tools).filter(([, p]) => !p).map(([k]) => k) };
}

/** nginx + supervisor from PATH; installed with apt-get when missing and we are root on Debian/Ubuntu. */
async function ensureTools(log = noop) {
  const { ensurePrerequisites, TEST_PREREQUISITES } = require('./prerequisites');
  ensurePrerequisites(TEST_PREREQUISITES.filter((p) => p.what === 'nginx' || p.what === 'supervisor'), log);
  const { tools, missing } = findTools();
  if (missing.length) throw new Error(`${INSTALL_HINT} (missing: ${missing.join(', ')})`);
  return tools;
}

function exec(bin, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'utf8', timeout: opts.timeout ?? 30000, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim()}`);
        e.stdout = stdout;
        e.code = err.code;
        reject(e);
      } else resolve(stdout);
    });
  });
}

// Port probe and pid check: the stack manager's (cluster mode probes with a shorter timeout).
const tcpAnswers = (port, timeoutMs = 500) => stack.tcpAnswers(port, timeoutMs);
const { pidAlive } = stack;

/* ------------------------------------------------------------------ configuration */

/** `${NAME}` -> vars[NAME] for the names given; anything else (nginx's $vars) is left alone, like envsubst with a filter. */
function renderTemplate(text, vars) {
  return text.replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole));
}

function upstreamServers(hostPorts) {
  // Passive health: two failures within 2 s take a process out for 2 s, then nginx tries it again. Short:
  // a 503 every process answers (Redis failing over, maintenance) takes them all out, and for
  // fail_timeout after the cause is gone nginx still answers "no api instance is answering".
  return hostPorts.map((hp) => `server ${hp} max_fails=2 fail_timeout=2s;`).join('\n    ');
}

/** The same processes for /socket.io/ and SSE, never taken out (the site template says why). */
function socketUpstreamServers(hostPorts) {
  return hostPorts.map((hp) => `server ${hp} max_fails=0;`).join('\n    ');
}

/** A unix socket path must stay under ~104 bytes; long checkouts get one in the temp directory. */
function socketPath(dir) {
  const p = path.join(dir, 'supervisor.sock');
  if (Buffer.byteLength(p) < 100) return p;
  return path.join(os.tmpdir(), `switchboard-supervisor-${crypto.createHash('sha1').update(dir).digest('hex').slice(0, 12)}.sock`);
}

function fileDescriptorLimit() {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line && line.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return 65536;
    if (hard && /^\d+$/.test(hard)) return Math.min(65536, Number(hard));
  } catch {
    /* not Linux */
  }
  return 1024;
}

/* ------------------------------------------------------------------ the shipped programs */

/**
 * supervisor/*.conf are the programs a server includes: supervisord fills their %(ENV_SWITCHBOARD_*)s
 * placeholders from its own environment. Cluster mode fills them here instead, with this cluster's
 * values, and adds the app's environment to each program's `environment=` line, because supervisord
 * keeps the environment it started with: values written into the program files are what
 * `supervisorctl reread` + `update` can change while it runs (scripts/cluster-ctl.js).
 */
const PROGRAMS_DIR = 'programs';
const SHIPPED = {
  api: path.join('supervisor', 'switchboard-api.conf'),
  worker: path.join('supervisor', 'switchboard-worker.conf'),
  scheduler: path.join('supervisor', 'switchboard-scheduler.conf'),
};

/** A value for supervisord's `environment=` (4.2 parses it with shlex in legacy mode: no escapes inside quotes). */
function supervisorValue(name, value) {
  const v = String(value);
  if (/["\r\n]/.test(v)) throw new Error(`${name}: a value with a double quote or a line break cannot go through supervisord's environment=`);
  return `"${v.replace(/%/g, '%%')}"`;
}

/** The variable names a program sets itself on its `environment=` line (PORT, METRICS_PORT, ...). */
function ownEnvironmentNames(text) {
  const line = text.split('\n').find((l) => l.startsWith('environment='));
  return line ? [...line.slice('environment='.length).matchAll(/(?:^|,)([A-Z0-9_]+)=/g)].map((m) => m[1]) : [];
}

/**
 * One shipped program file rendered: %(ENV_SWITCHBOARD_X)s -> vars.SWITCHBOARD_X (what supervisord
 * would take from its environment), and `env` put before the program's own variables on its
 * `environment=` line (later wins in supervisord, so PORT, METRICS_PORT and INSTANCE_ID stay the program's).
 */
function renderProgram(text, vars, env, file) {
  const filled = text.replace(/%\(ENV_(SWITCHBOARD_[A-Z0-9_]+)\)s/g, (whole, name) => {
    if (!Object.prototype.hasOwnProperty.call(vars, name)) throw new Error(`${file} uses %(ENV_${name})s, which cluster mode does not set`);
    return String(vars[name]).replace(/%/g, '%%');
  });
  const lines = filled.split('\n');
  const at = lines.filter((l) => l.startsWith('environment='));
  if (at.length !== 1) throw new Error(`${file} must have one environment= line (it has ${at.length})`);
  const own = new Set(ownEnvironmentNames(filled));
  const pairs = Object.entries(env)
    .filter(([k, v]) => v !== undefined && !own.has(k))
    .map(([k, v]) => `${k}=${supervisorValue(k, v)}`);
  const i = lines.findIndex((l) => l.startsWith('environment='));
  lines[i] = `environment=${[...pairs, lines[i].slice('environment='.length)].join(',')}`;
  return lines.join('\n');
}

/** The api program for one port: its own section, so supervisord can add, remove and update it alone. */
function apiProgramText(text, port, file) {
  const header = /^\[program:switchboard-api\]$/m;
  if ((text.match(new RegExp(header.source, 'gm')) || []).length !== 1) throw new Error(`${file} must have one [program:switchboard-api] section`);
  return text.replace(header, `[program:switchboard-api-${port}]`);
}

const apiPortsOf = (state) => Array.from({ length: state.instances }, (_, i) => state.port + 1 + i);
const workerMetricsPortsOf = (state) => Array.from({ length: state.workers }, (_, i) => state.port + 101 + i);

/** Every program file of a cluster, by file name, from its state (see readState). */
function programFiles(state, root = ROOT) {
  const dir = clusterDir(root, state.name);
  const env = { ...state.env, ...state.overrides };
  const vars = {
    SWITCHBOARD_ROOT: root,
    SWITCHBOARD_NODE: state.node,
    SWITCHBOARD_LOG_DIR: path.join(dir, 'logs'),
    SWITCHBOARD_API_INSTANCES: 1,
    SWITCHBOARD_WORKERS: state.workers,
    SWITCHBOARD_WORKER_FIRST_METRICS_PORT: state.port + 101,
  };
  const read = (f) => fs.readFileSync(path.join(root, f), 'utf8');
  const files = new Map();
  for (const port of apiPortsOf(state)) {
    files.set(`switchboard-api-${port}.conf`, renderProgram(apiProgramText(read(SHIPPED.api), port, SHIPPED.api), { ...vars, SWITCHBOARD_API_FIRST_PORT: port }, env, SHIPPED.api));
  }
  files.set('switchboard-worker.conf', renderProgram(read(SHIPPED.worker), vars, env, SHIPPED.worker));
  files.set('switchboard-scheduler.conf', renderProgram(read(SHIPPED.scheduler), vars, env, SHIPPED.scheduler));
  return files;
}

/** Writes the program files (mode 0600: they carry secrets), deletes those no longer wanted; returns what changed on disk. */
function writePrograms(state, root = ROOT) {
  const dir = path.join(clusterDir(root, state.name), PROGRAMS_DIR);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = programFiles(state, root);
  const changed = [];
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith('.conf') && !files.has(f)) {
      fs.rmSync(path.join(dir, f));
      changed.push(f.replace(/\.conf$/, ''));
    }
  }
  for (const [f, text] of files) {
    const file = path.join(dir, f);
    let old = null;
    try {
      old = fs.readFileSync(file, 'utf8');
    } catch {
      /* new */
    }
    if (old === text) continue;
    fs.writeFileSync(file, text, { mode: 0o600 });
    changed.push(f.replace(/\.conf$/, ''));
  }
  return changed;
}

/* ------------------------------------------------------------------ state */

const clusterDir = (root, name) => path.join(root, '.stack', '.clusters', name);
const stateFile = (root, name) => path.join(clusterDir(root, name), 'cluster.json');

/**
 * What a cluster is: its name, base port, api and worker counts, the node binary, the environment it
 * was started with (`env`) and what `npm run cluster -- env:set` changed since (`overrides`).
 * Mode 0600 under .stack/ (git-ignored): it holds secrets.
 */
function readState(name, root = ROOT) {
  try {
    return JSON.parse(fs.readFileSync(stateFile(root, name), 'utf8'));
  } catch {
    return null;
  }
}

function writeState(state, root = ROOT) {
  const file = stateFile(root, state.name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

function nginxUserLine() {
  // Workers of a root master run as an unprivileged user; that user must own the temp directories.
  if (!IS_ROOT) return { line: '# not root: nginx workers run as the current user', uid: null, gid: null };
  for (const [user, group] of [['nobody', 'nogroup'], ['nobody', 'nobody'], ['www-data', 'www-data']]) {
    const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
    const gr = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${group}:`));
    if (pw && gr) return { line: `user ${user} ${group};`, uid: Number(pw.split(':')[2]), gid: Number(gr.split(':')[2]) };
  }
  return { line: 'user root;', uid: null, gid: null };
}

/** One source/destination address pair has ~28,000 ephemeral ports (ip_local_port_range 32768-60999). */
const EPHEMERAL_PORTS = 28000;

/** The hard open-file limit every process started from here inherits (nginx workers cannot go above it unless root may raise it). */
function hardFileLimit() {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line && line.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return 1048576;
    if (hard && /^\d+$/.test(hard)) return Number(hard);
  } catch {
    /* not Linux */
  }
  return 1024;
}

/**
 * nginx sized for `maxSockets` proxied sockets (bench:scale, docs/scaling/phase3.md). Every socket is
 * two connections (client and upstream) and two descriptors in one worker. While one worker can hold
 * them all, the workers stay `auto` (one per core) and each is sized to take every socket (the
 * kernel does not spread accepted connections evenly over workers that share one listening socket).
 * Past the open-file limit of one process, more workers than cores share the sockets, each with a
 * listening socket of its own (`reuseport`: the kernel spreads connections evenly by address and port)
 * and filled to at most ~60 % on average. Past ~28,000 connections to one api process, nginx's own
 * connections need more than one source address (loopback has all of 127.0.0.0/8).
 */
function nginxSizing(maxSockets, limit = hardFileLimit()) {
  const need = maxSockets * 2 + 1024;
  const perWorker = limit - 1024;
  const oneWorker = need <= perWorker;
  const workers = oneWorker ? 'auto' : String(Math.ceil(need / (0.6 * perWorker)));
  const workerConnections = oneWorker ? Math.max(16384, Math.ceil(need / 1024) * 1024) : perWorker;
  const sources = Math.ceil(maxSockets / (EPHEMERAL_PORTS - 3000));
  const bind =
    sources <= 1
      ? ''
      : [
          `    # Up to ${maxSockets} sockets, possibly on one api process: nginx connects from ${sources} loopback addresses.`,
          `    split_clients "$remote_addr$remote_port" $switchboard_upstream_source {`,
          ...Array.from({ length: sources }, (_, i) => `        ${i === sources - 1 ? '*' : `${(100 / sources).toFixed(2)}%`} 127.0.0.${i + 1};`),
          '    }',
          '    proxy_bind $switchboard_upstream_source;',
        ].join('\n');
  return { workers, workerConnections, nofile: oneWorker ? Math.max(65536, workerConnections + 1024) : limit, bind, reuseport: !oneWorker };
}

/** Sockets nginx is sized for unless bench:scale asks for more (nginxSizing). */
const DEFAULT_MAX_SOCKETS = 7000;

/** The nginx site for the cluster's api ports (rewritten by `npm run cluster -- scale`, then nginx reloads). */
function writeNginxSite(state, root = ROOT) {
  const nginxDir = path.join(clusterDir(root, state.name), 'nginx');
  const sizing = nginxSizing(state.maxSockets ?? DEFAULT_MAX_SOCKETS);
  const site = renderTemplate(fs.readFileSync(path.join(root, 'nginx', 'templates', 'switchboard.conf.template'), 'utf8'), {
    SWITCHBOARD_LISTEN: `127.0.0.1:${state.port}${sizing.reuseport ? ' reuseport' : ''}`,
    SWITCHBOARD_UPSTREAM_SERVERS: upstreamServers(apiPortsOf(state).map((p) => `127.0.0.1:${p}`)),
    SWITCHBOARD_SOCKET_UPSTREAM_SERVERS: socketUpstreamServers(apiPortsOf(state).map((p) => `127.0.0.1:${p}`)),
    SWITCHBOARD_ACCESS_LOG: path.join(nginxDir, 'access.log'),
  });
  fs.writeFileSync(path.join(nginxDir, 'switchboard.conf'), site);
}

/** `nginx -t` on the cluster's configuration. */
async function testNginx(tools, nginxDir) {
  try {
    await exec(tools.nginx, ['-t', '-q', '-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf'), '-e', path.join(nginxDir, 'error.log')]);
  } catch (e) {
    throw new Error(`the rendered nginx configuration is invalid: ${e.message}`);
  }
}

/**
 * Writes supervisord.conf, the nginx configuration, the program files and the state into the
 * cluster directory and returns what start() needs. Nothing outside it is written.
 */
function render({ instances, workers = DEFAULT_WORKERS, port, root = ROOT, name = 'dev', tools, env = {}, maxSockets = DEFAULT_MAX_SOCKETS }) {
  const dir = clusterDir(root, name);
  const nginxDir = path.join(dir, 'nginx');
  const logDir = path.join(dir, 'logs');
  for (const d of [dir, logDir, nginxDir, ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => path.join(nginxDir, 'temp', t))]) {
    fs.mkdirSync(d, { recursive: true });
  }
  const user = nginxUserLine();
  if (user.uid !== null) {
    for (const t of fs.readdirSync(path.join(nginxDir, 'temp'))) fs.chownSync(path.join(nginxDir, 'temp', t), user.uid, user.gid);
    // The workers must be able to reach the temp directories through the path.
    for (let d = nginxDir; d.startsWith(root) && d !== root; d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o111);
  }
  const state = { name, port, instances, workers, node: process.execPath, env, overrides: {}, maxSockets };
  writeState(state, root);
  writePrograms(state, root);
  writeNginxSite(state, root);
  const sizing = nginxSizing(maxSockets);
  const nginxConf = renderTemplate(fs.readFileSync(path.join(root, 'nginx', 'nginx.cluster.conf.template'), 'utf8'), {
    SWITCHBOARD_NGINX_USER: user.line,
    SWITCHBOARD_NGINX_DIR: nginxDir,
    SWITCHBOARD_NGINX_WORKERS: sizing.workers,
    SWITCHBOARD_NGINX_NOFILE: sizing.nofile,
    SWITCHBOARD_NGINX_WORKER_CONNECTIONS: sizing.workerConnections,
    SWITCHBOARD_NGINX_UPSTREAM_BIND: sizing.bind,
  });
  fs.writeFileSync(path.join(nginxDir, 'nginx.conf'), nginxConf);
  const sock = socketPath(dir);
  const conf = path.join(dir, 'supervisord.conf');
  let supervisord = renderTemplate(fs.readFileSync(path.join(root, 'supervisor', 'supervisord.conf.template'), 'utf8'), {
    SWITCHBOARD_CLUSTER_DIR: dir,
    SWITCHBOARD_NGINX_BIN: tools.nginx,
    SWITCHBOARD_INCLUDES: path.join(dir, PROGRAMS_DIR, '*.conf'),
    SWITCHBOARD_MINFDS: String(fileDescriptorLimit()),
  });
  supervisord = supervisord.split(path.join(dir, 'supervisor.sock')).join(sock);
  fs.writeFileSync(conf, supervisord);
  return { dir, conf, sock, logDir, nginxDir, port, apiPorts: apiPortsOf(state), workerMetricsPorts: workerMetricsPortsOf(state) };
}

/* ------------------------------------------------------------------ lifecycle */

function runningPid(dir) {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'supervisord.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return null;
    // Only a supervisord started with this directory's configuration counts as ours.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes('supervisord') && cmdline.includes(path.join(dir, 'supervisord.conf')) ? pid : null;
  } catch {
    return null;
  }
}

async function waitGone(pid, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(200);
  }
  return !pidAlive(pid);
}

async function get(url, timeoutMs = 3000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/**
 * Renders the configuration and starts supervisord (which starts nginx, the api processes and the
 * workers); resolves once /up answers 200 through nginx. Returns a handle to control and stop it.
 */
async function start({ instances, workers = DEFAULT_WORKERS, port, env = {}, root = ROOT, name = 'dev', log = noop, readyTimeoutMs = 120000, maxSockets = DEFAULT_MAX_SOCKETS }) {
  if (!Number.isInteger(instances) || instances < 1 || instances > MAX_INSTANCES) throw new Error(`instances must be a whole number from 1 to ${MAX_INSTANCES}`);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new Error(`workers must be a whole number from 1 to ${MAX_WORKERS}`);
  const tools = await ensureTools(log);
  const dir = clusterDir(root, name);
  const already = runningPid(dir);
  if (already) throw new Error(`a cluster "${name}" is already running (supervisord pid ${already}); \`npm run cluster -- scale\` changes it, \`npm run down\` stops it`);
  const apiPorts = Array.from({ length: instances }, (_, i) => port + 1 + i);
  const metricsPorts = Array.from({ length: workers }, (_, i) => port + 101 + i);
  for (const p of [port, ...apiPorts, ...metricsPorts]) {
    if (await tcpAnswers(p)) {
      throw new Error(`port ${p} is in use: cluster mode needs ${port} (nginx), ${port + 1}-${port + instances} (api) and ${port + 101}-${port + 100 + workers} (worker metrics); set PORT to another base`);
    }
  }
  const cfg = render({ instances, workers, port, root, name, tools, env, maxSockets });
  await testNginx(tools, cfg.nginxDir);
  // One run per access log (the previous run's kept as access.log.1): a log that also held an earlier
  // run's requests, to other api ports, mixed two runs (cluster-realtime's "one process per address").
  const accessLog = path.join(cfg.nginxDir, 'access.log');
  if (fs.existsSync(accessLog)) fs.renameSync(accessLog, `${accessLog}.1`);
  // The app's environment is in the program files (render): what is inherited from here is the shell's.
  const childEnv = { ...process.env };
  // Its own process group: a Ctrl-C reaches us, and we stop supervisord in order.
  const child = spawn(tools.supervisord, ['-n', '-c', cfg.conf], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = [];
  const onData = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;

  const ctl = (args, timeout = 30000) => exec(tools.supervisorctl, ['-c', cfg.conf, ...args], { timeout, env: childEnv });
  const handle = {
    ...cfg,
    url,
    child,
    exited,
    output: () => output.join(''),
    /** supervisorctl -c <conf> ...; rejects on a non-zero exit (status exits 3 when a program is not RUNNING). */
    ctl,
    /** The pid supervisord reports for a program (`switchboard-api-3001`, `switchboard-worker:switchboard-worker-3101`, `nginx`), 0 when not running. */
    pidOf: async (program) => Number((await ctl(['pid', program]).catch((e) => e.stdout || '0')).trim()) || 0,
    /** Each api process is a program of its own in cluster mode (on a server: switchboard-api:switchboard-api-<port>). */
    apiProgram: (apiPort) => `switchboard-api-${apiPort}`,
    /** SIGTERM to supervisord: it stops the workers, api processes and nginx (each with its stopwaitsecs), then exits. */
    stop: async (graceMs = 120000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`supervisord exited during start (${child.exitCode ?? child.signalCode}):\n${handle.output()}`);
    }
    try {
      const r = await get(`${url}/up`);
      if (r.status === 200) return handle;
      last = `${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(300);
  }
  await handle.stop();
  throw new Error(`/up through nginx did not answer 200 within ${readyTimeoutMs} ms (last: ${last}); logs in ${cfg.logDir}`);
}

/** Prints new lines of every log file in `dir`, prefixed with the program name, until stopped. */
function followLogs(dir, write) {
  const offsets = new Map();
  const tick = () => {
    let files = [];
    try {
      files = fs.readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'supervisord.log');
    } catch {
      return;
    }
    for (const f of files) {
      const file = path.join(dir, f);
      let size;
      try {
        size = fs.statSync(file).size;
      } catch {
        continue;
      }
      const from = offsets.get(f) ?? 0;
      if (size < from) offsets.set(f, 0);
      if (size <= from) continue;
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(Math.min(size - from, 1 << 20));
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      const text = buf.toString('utf8');
      const end = text.lastIndexOf('\n') + 1;
      offsets.set(f, from + Buffer.byteLength(text.slice(0, end)));
      const label = f.replace(/\.log$/, '');
      for (const line of text.slice(0, end).split('\n')) if (line) write(`${label} | ${line}\n`);
    }
  };
  const timer = setInterval(tick, 500);
  return () => {
    clearInterval(timer);
    tick();
  };
}

/** `npm run up -- --instances N`: start, stream the logs, stop on Ctrl-C / SIGTERM. Resolves with the exit code. */
async function run({ instances, workers = DEFAULT_WORKERS, port, env = {}, root = ROOT, name = 'dev' }) {
  const log = (m) => console.error(`[switchboard] ${m}`);
  log(`cluster mode: nginx on ${port}, ${instances} api processes on ${port + 1}-${port + instances}, ${workers} workers, the scheduler, under supervisord`);
  const cluster = await start({ instances, workers, port, env, root, name, log });
  const stopFollowing = followLogs(cluster.logDir, (l) => process.stdout.write(l));
  log(`ready: http://127.0.0.1:${port}/up through nginx. Configuration and logs: ${path.relative(process.cwd(), cluster.dir) || cluster.dir}`);
  log(`\`npm run cluster -- status\` shows the processes; \`npm run cluster -- scale|roll|env:set|ctl ...\` changes them (docs/runbook.md). Ctrl-C (or npm run down) stops everything.`);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (code) => {
      if (stopping) return;
      stopping = true;
      log('stopping the cluster (workers finish their jobs, api processes drain)...');
      await cluster.stop();
      stopFollowing();
      resolve(code);
    };
    process.on('SIGINT', () => void stop(0));
    process.on('SIGTERM', () => void stop(0));
    // Stopped from elsewhere (npm run down): we are done too.
    void cluster.exited.then(() => {
      if (!stopping) {
        stopping = true;
        stopFollowing();
        log('supervisord exited');
        resolve(0);
      }
    });
  });
}

/** For `npm run down`: stops the supervisord of every running cluster (or the one named) by its pid file. */
async function stopRunning({ root = ROOT, name, log = noop } = {}) {
  const base = path.join(root, '.stack', '.clusters');
  let names;
  try {
    names = name ? [name] : fs.readdirSync(base);
  } catch {
    return [];
  }
  const stopped = [];
  for (const n of names) {
    const pid = runningPid(path.join(base, n));
    if (!pid) continue;
    log(`cluster ${n}: stopping supervisord (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone(pid, 120000))) throw new Error(`cluster ${n}: supervisord (pid ${pid}) did not stop within 120 s`);
    stopped.push(n);
  }
  return stopped;
}

module.exports = {
  run,
  start,
  render,
  renderTemplate,
  renderProgram,
  ownEnvironmentNames,
  upstreamServers,
  socketUpstreamServers,
  stopRunning,
  ensureTools,
  findTools,
  exec,
  runningPid,
  clusterDir,
  readState,
  writeState,
  writePrograms,
  writeNginxSite,
  testNginx,
  apiPortsOf,
  workerMetricsPortsOf,
  tcpAnswers,
  SHIPPED,
  CLUSTERS_DIR,
  DEFAULT_WORKERS,
  MAX_INSTANCES,
  MAX_WORKERS,
};
