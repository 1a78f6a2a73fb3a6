'use strict';
/**
 * Cluster mode (`npm run up -- --instances N`): the production topology on one machine.
 *
 *   nginx on PORT (nginx/templates/switchboard.conf.template: ip_hash, WebSocket upgrade, /up)
 *     -> N api processes on PORT+1 ... PORT+N   (supervisor/switchboard-api.conf)
 *   2 workers: bin/switchboard queue:work --queue=high,default --tries=3
 *   all run by one supervisord in the foreground, from configuration rendered into
 *   .stack/.clusters/<name>/ (never /etc). Ctrl-C or `npm run down` stops everything.
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
const WORKERS = 2;
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
  let { tools, missing } = findTools();
  if (!missing.length) return tools;
  if (!(IS_ROOT && fs.existsSync('/usr/bin/apt-get'))) throw new Error(`${INSTALL_HINT} (missing: ${missing.join(', ')})`);
  log(`missing ${missing.join(', ')}: installing nginx supervisor with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'nginx', 'supervisor']]) {
    await new Promise((resolve, reject) => {
      const child = spawn('/usr/bin/apt-get', args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited with ${code}\n${INSTALL_HINT}`))));
    });
  }
  ({ tools, missing } = findTools());
  if (missing.length) throw new Error(`${INSTALL_HINT} (still missing after apt-get: ${missing.join(', ')})`);
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
  // Passive health: two failures within 10 s take a process out for 10 s, then nginx tries it again.
  return hostPorts.map((hp) => `server ${hp} max_fails=2 fail_timeout=10s;`).join('\n    ');
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

/**
 * The worker program of cluster mode. supervisor/switchboard-worker.conf (the queue module's file for
 * servers) is included instead when it gives each worker its METRICS_PORT the same way; otherwise
 * this one is written, so that Prometheus can scrape every worker on PORT+101, PORT+102...
 */
const WORKER_PROGRAM = `; Switchboard workers for cluster mode (generated by scripts/cluster.js).
; The process number is the worker's metrics port (METRICS_PORT), as the api's is its HTTP port.
[program:switchboard-worker]
command=%(ENV_SWITCHBOARD_NODE)s bin/switchboard queue:work --queue=high,default --tries=3
directory=%(ENV_SWITCHBOARD_ROOT)s
process_name=%(program_name)s-%(process_num)d
numprocs=%(ENV_SWITCHBOARD_WORKERS)s
numprocs_start=%(ENV_SWITCHBOARD_WORKER_FIRST_METRICS_PORT)s
environment=METRICS_PORT="%(process_num)d",INSTANCE_ID="%(host_node_name)s-worker-%(process_num)d"
autostart=true
autorestart=true
startsecs=3
startretries=5
; SIGTERM: queue:work finishes running jobs, then exits 0. Longer than the longest job.
stopsignal=TERM
stopwaitsecs=3600
stopasgroup=true
killasgroup=true
stdout_logfile=%(ENV_SWITCHBOARD_LOG_DIR)s/%(program_name)s-%(process_num)d.log
stdout_logfile_maxbytes=20MB
stdout_logfile_backups=3
redirect_stderr=true
`;

function workerProgramFile(root, dir) {
  const shared = path.join(root, 'supervisor', 'switchboard-worker.conf');
  if (fs.existsSync(shared)) {
    const text = fs.readFileSync(shared, 'utf8');
    if (text.includes('%(ENV_SWITCHBOARD_ROOT)s') && text.includes('%(ENV_SWITCHBOARD_WORKER_FIRST_METRICS_PORT)s')) return shared;
  }
  const own = path.join(dir, 'switchboard-worker.conf');
  fs.writeFileSync(own, WORKER_PROGRAM);
  return own;
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

/**
 * Writes supervisord.conf, the nginx configuration and the worker program into the cluster
 * directory and returns what start() needs. Nothing outside `dir` is written.
 */
function render({ instances, port, root = ROOT, name = 'dev', tools }) {
  const dir = path.join(root, '.stack', '.clusters', name);
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
  const apiPorts = Array.from({ length: instances }, (_, i) => port + 1 + i);
  const site = renderTemplate(fs.readFileSync(path.join(root, 'nginx', 'templates', 'switchboard.conf.template'), 'utf8'), {
    SWITCHBOARD_LISTEN: `127.0.0.1:${port}`,
    SWITCHBOARD_UPSTREAM_SERVERS: upstreamServers(apiPorts.map((p) => `127.0.0.1:${p}`)),
    SWITCHBOARD_ACCESS_LOG: path.join(nginxDir, 'access.log'),
  });
  fs.writeFileSync(path.join(nginxDir, 'switchboard.conf'), site);
  const nginxConf = renderTemplate(fs.readFileSync(path.join(root, 'nginx', 'nginx.cluster.conf.template'), 'utf8'), {
    SWITCHBOARD_NGINX_USER: user.line,
    SWITCHBOARD_NGINX_DIR: nginxDir,
  });
  fs.writeFileSync(path.join(nginxDir, 'nginx.conf'), nginxConf);
  const includes = [path.join(root, 'supervisor', 'switchboard-api.conf'), workerProgramFile(root, dir)];
  const sock = socketPath(dir);
  const conf = path.join(dir, 'supervisord.conf');
  let supervisord = renderTemplate(fs.readFileSync(path.join(root, 'supervisor', 'supervisord.conf.template'), 'utf8'), {
    SWITCHBOARD_CLUSTER_DIR: dir,
    SWITCHBOARD_NGINX_BIN: tools.nginx,
    SWITCHBOARD_INCLUDES: includes.join(' '),
    SWITCHBOARD_MINFDS: String(fileDescriptorLimit()),
  });
  supervisord = supervisord.split(path.join(dir, 'supervisor.sock')).join(sock);
  fs.writeFileSync(conf, supervisord);
  const workerFirstMetricsPort = port + 101;
  return {
    dir,
    conf,
    sock,
    logDir,
    nginxDir,
    port,
    apiPorts,
    workerMetricsPorts: Array.from({ length: WORKERS }, (_, i) => workerFirstMetricsPort + i),
    programEnv: {
      SWITCHBOARD_ROOT: root,
      SWITCHBOARD_NODE: process.execPath,
      SWITCHBOARD_LOG_DIR: logDir,
      SWITCHBOARD_API_INSTANCES: String(instances),
      SWITCHBOARD_API_FIRST_PORT: String(port + 1),
      SWITCHBOARD_WORKERS: String(WORKERS),
      SWITCHBOARD_WORKER_FIRST_METRICS_PORT: String(workerFirstMetricsPort),
    },
  };
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
async function start({ instances, port, env = {}, root = ROOT, name = 'dev', log = noop, readyTimeoutMs = 120000 }) {
  if (!Number.isInteger(instances) || instances < 1) throw new Error('instances must be a positive whole number');
  const tools = await ensureTools(log);
  const dir = path.join(root, '.stack', '.clusters', name);
  const already = runningPid(dir);
  if (already) throw new Error(`a cluster "${name}" is already running (supervisord pid ${already}); \`npm run down\` stops it`);
  for (const p of [port, ...Array.from({ length: instances }, (_, i) => port + 1 + i)]) {
    if (await tcpAnswers(p)) throw new Error(`port ${p} is in use: cluster mode needs ${port} (nginx) and ${port + 1}-${port + instances} (api); set PORT to another base`);
  }
  const cfg = render({ instances, port, root, name, tools });
  try {
    await exec(tools.nginx, ['-t', '-q', '-p', cfg.nginxDir, '-c', path.join(cfg.nginxDir, 'nginx.conf'), '-e', path.join(cfg.nginxDir, 'error.log')]);
  } catch (e) {
    throw new Error(`the rendered nginx configuration is invalid: ${e.message}`);
  }
  const childEnv = { ...process.env, ...env, ...cfg.programEnv };
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
    /** The pid supervisord reports for a program (`switchboard-api:switchboard-api-3001`, `nginx`), 0 when not running. */
    pidOf: async (program) => Number((await ctl(['pid', program]).catch((e) => e.stdout || '0')).trim()) || 0,
    apiProgram: (apiPort) => `switchboard-api:switchboard-api-${apiPort}`,
    /** SIGTERM to supervisord: it stops the workers, api processes and nginx (each with its stopwaitsecs), then exits. */
    stop: async (graceMs = 90000) => {
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
async function run({ instances, port, env = {}, root = ROOT, name = 'dev' }) {
  const log = (m) => console.error(`[switchboard] ${m}`);
  log(`cluster mode: nginx on ${port}, ${instances} api processes on ${port + 1}-${port + instances}, ${WORKERS} workers, under supervisord`);
  const cluster = await start({ instances, port, env, root, name, log });
  const stopFollowing = followLogs(cluster.logDir, (l) => process.stdout.write(l));
  log(`ready: http://127.0.0.1:${port}/up through nginx. Configuration and logs: ${path.relative(process.cwd(), cluster.dir) || cluster.dir}`);
  log(`supervisorctl -c ${cluster.conf} status   shows the processes. Ctrl-C (or npm run down) stops everything.`);
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

module.exports = { run, start, render, renderTemplate, upstreamServers, stopRunning, ensureTools, CLUSTERS_DIR, WORKERS };
