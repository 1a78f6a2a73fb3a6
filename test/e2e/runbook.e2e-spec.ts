/* eslint-disable @typescript-eslint/no-require-imports */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createAdmin } from '../support/admin';
import { ROOT, runCli } from '../support/api-process';
import { freeBase, portIsFree } from '../support/cluster';
import { HttpClient, registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { ownStack } from '../support/stack';
import { QueueKit } from './queue-test-kit';

/**
 * Instructions are code: every fenced block tagged ```sh runbook:<id> in the pages below is run here,
 * as written, by bash (set -euo pipefail) in the checkout, against the topology the docs describe —
 * `npm run up -- --instances 3` (scripts/up.js: nginx, 3 api processes, 2 workers, the scheduler under
 * supervisord), started once for the suite. The only changes are this cluster's own addresses:
 *   localhost:3000+k            -> 127.0.0.1:<base>+k      (nginx on base, api processes on base+1...)
 *   switchboard-api-3001, ...   -> switchboard-api-<base+1>; switchboard-worker-3101 -> <base+101>
 *   .stack/.clusters/dev/       -> .stack/.clusters/<this cluster>/   (npm run cluster finds it through SWITCHBOARD_CLUSTER)
 *   --stack=dev, -P 13306/13307 -> this test stack's name and ports
 * and ADMIN_EMAIL / ADMIN_PASSWORD name an admin made with `bin/switchboard user:create --admin`.
 * Each block has a check of what it must have done; a block without a check, or a check without a
 * block, fails the suite, so the docs and this test cannot drift apart.
 */
const PAGES = ['README.md', 'docs/runbook.md', 'docs/scaling/phase2.md', 'docs/production.md'];
const COOKIES = join(ROOT, '.stack', 'admin.cookies');

interface Block {
  page: string;
  id: string;
  code: string;
}

function runbookBlocks(): Block[] {
  const blocks: Block[] = [];
  for (const page of PAGES) {
    if (!existsSync(join(ROOT, page))) continue;
    // A block may be indented (inside a list item): its lines lose that indentation.
    for (const m of readFileSync(join(ROOT, page), 'utf8').matchAll(/^( *)```sh runbook:([a-z0-9-]+)\n([\s\S]*?)^\1```$/gm)) {
      const code = m[3]
        .split('\n')
        .map((l) => (l.startsWith(m[1]) ? l.slice(m[1].length) : l))
        .join('\n');
      blocks.push({ page, id: m[2], code });
    }
  }
  return blocks;
}

interface ClusterState {
  name: string;
  port: number;
  instances: number;
  workers: number;
}

function sh(script: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the runbook, run as written against npm run up -- --instances 3', () => {
  jest.setTimeout(240000);
  const blocks = runbookBlocks();
  const kit = new QueueKit();
  const stack = ownStack();
  const stackPorts = (require(join(ROOT, 'scripts', 'stack.js')) as { config(n: string): { ports: { primary: number; replica: number; redis: number } } }).config(stack.name).ports;
  const name = `e2e-runbook-${stack.name}`;
  const clusterDir = join(ROOT, '.stack', '.clusters', name);
  /** The api ports in nginx's two upstreams (HTTP, Socket.IO): how many each, and whether they list the same. */
  const upstreamPorts = () => {
    const site = readFileSync(join(clusterDir, 'nginx', 'switchboard.conf'), 'utf8');
    const ports = (name: string) => [...site.matchAll(/upstream (\w+) \{([^}]*)\}/g)].filter((u) => u[1] === name).flatMap((u) => [...u[2].matchAll(/^\s*server 127\.0\.0\.1:(\d+) /gm)].map((x) => x[1]));
    const http = ports('switchboard_api');
    const sockets = ports('switchboard_sockets');
    return { http: http.length, sockets: sockets.length, same: http.join() === sockets.join() };
  };
  const conf = join(clusterDir, 'supervisord.conf');
  let base = 0;
  let up: ChildProcess | undefined;
  let upLog = '';
  let admin: TestUser;
  const env = (): Record<string, string> => ({
    ...(process.env as Record<string, string>),
    REDIS_PREFIX: kit.prefix,
    PORT: String(base),
    SWITCHBOARD_CLUSTER: name,
    ADMIN_EMAIL: admin?.email ?? '',
    ADMIN_PASSWORD: admin?.password ?? '',
  });
  const state = (): ClusterState => JSON.parse(readFileSync(join(clusterDir, 'cluster.json'), 'utf8')) as ClusterState;
  const url = (port = base) => `http://127.0.0.1:${port}`;
  const apiPorts = () => Array.from({ length: state().instances }, (_, i) => base + 1 + i);
  const workerNames = () => Array.from({ length: state().workers }, (_, i) => `switchboard-worker:switchboard-worker-${base + 101 + i}`);

  function localise(code: string): string {
    return code
      .replace(/localhost:3(\d{3})\b/g, (_, n: string) => `127.0.0.1:${base + Number(n)}`)
      .replace(/(switchboard-(?:api|worker)-)3(\d{3})\b/g, (_, p: string, n: string) => `${p}${base + Number(n)}`)
      .replace(/\.stack\/\.clusters\/dev\//g, `.stack/.clusters/${name}/`)
      .replace(/--stack=dev\b/g, `--stack=${stack.name}`)
      .replace(/-P 13306\b/g, `-P ${stackPorts.primary}`)
      .replace(/-P 13307\b/g, `-P ${stackPorts.replica}`)
      .replace(/-p 16379\b/g, `-p ${stackPorts.redis}`);
  }

  async function run(id: string): Promise<string> {
    const found = blocks.filter((b) => b.id === id);
    expect(found.map((b) => b.id)).toEqual([id]);
    const script = `set -euo pipefail\n${localise(found[0].code)}`;
    const r = await sh(script, env(), 200000);
    if (r.code !== 0) throw new Error(`${found[0].page} block runbook:${id} exited ${r.code}\n--- ran\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r.stdout + r.stderr;
  }

  /** program name → { state, pid } from this cluster's supervisord. */
  async function status(): Promise<Map<string, { state: string; pid: number }>> {
    const r = await sh(`supervisorctl -c ${conf} status`, env(), 30000);
    const m = new Map<string, { state: string; pid: number }>();
    for (const line of r.stdout.split('\n')) {
      const hit = /^(\S+)\s+([A-Z]+)\s*(?:pid (\d+))?/.exec(line);
      if (hit) m.set(hit[1], { state: hit[2], pid: Number(hit[3] ?? 0) });
    }
    return m;
  }
  const running = async () => [...(await status())].filter(([, s]) => s.state === 'RUNNING').map(([n]) => n);
  const upStatus = async (port: number) => (await fetch(`${url(port)}/up`, { signal: AbortSignal.timeout(5000) }).catch(() => null))?.status ?? 0;
  const cli = (args: string[]) => runCli(args, { REDIS_PREFIX: kit.prefix });

  beforeAll(async () => {
    base = await freeBase(5);
    up = spawn(process.execPath, [join(ROOT, 'scripts', 'up.js'), '--instances', '3'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(base), SWITCHBOARD_CLUSTER: name, REDIS_PREFIX: kit.prefix, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    up.stderr?.on('data', (c: Buffer) => (upLog += c.toString()));
    await waitFor(
      async () => {
        if (up?.exitCode !== null) throw new Error(`npm run up -- --instances 3 exited ${up?.exitCode}:\n${upLog}`);
        return /\] ready: /.test(upLog);
      },
      240000,
      500,
    );
    for (const port of apiPorts()) await waitFor(async () => (await upStatus(port)) === 200, 120000, 500);
    await waitFor(async () => {
      const now = await running();
      return workerNames().every((n) => now.includes(n));
    }, 60000, 500);
    admin = await createAdmin(url());
  }, 360000);

  afterAll(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGTERM');
      const exited = new Promise((r) => up?.once('exit', r));
      const timer = setTimeout(() => up?.kill('SIGKILL'), 150000);
      await exited;
      clearTimeout(timer);
    }
    await (require(join(ROOT, 'scripts', 'cluster.js')) as { stopRunning(o: { name: string }): Promise<string[]> }).stopRunning({ name });
    rmSync(COOKIES, { force: true });
    rmSync(join(ROOT, '.stack', 'backups', 'switchboard.sql'), { force: true });
    await kit.close();
  }, 200000);

  it('has a check for every runbook block, and a block for every check', () => {
    const ids = blocks.map((b) => b.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...CHECKED].sort());
  });

  it('renders the shipped supervisor programs, with only their placeholders and environment filled in', () => {
    for (const [shipped, rendered] of [
      ['switchboard-worker.conf', 'switchboard-worker.conf'],
      ['switchboard-scheduler.conf', 'switchboard-scheduler.conf'],
      ['switchboard-api.conf', `switchboard-api-${base + 1}.conf`],
    ]) {
      const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => /^[a-z_]+=/.test(l));
      const ours = new Map(lines(join(clusterDir, 'programs', rendered)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const theirs = lines(join(ROOT, 'supervisor', shipped));
      expect([...ours.keys()]).toEqual(theirs.map((l) => l.slice(0, l.indexOf('='))));
      for (const l of theirs) {
        const key = l.slice(0, l.indexOf('='));
        const pattern = l
          .slice(key.length + 1)
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/%\\\(ENV_SWITCHBOARD_[A-Z_]+\\\)s/g, '.+');
        expect(ours.get(key)).toMatch(new RegExp(key === 'environment' ? `${pattern}$` : `^${pattern}$`));
      }
    }
    expect(readFileSync(join(clusterDir, 'programs', 'switchboard-worker.conf'), 'utf8')).toMatch(/^command=\S+ \S+\/bin\/switchboard queue:work --queue=high,default --tries=3 --timeout=60$/m);
  });

  it('overview: status, /up, queue sizes and workers', async () => {
    const out = await run('overview');
    expect(out).toMatch(new RegExp(`switchboard-api-${base + 1}\\s+RUNNING`));
    expect(out).toMatch(new RegExp(`switchboard-worker-${base + 101}\\s+RUNNING`));
    expect(out).toMatch(/switchboard-scheduler\s+RUNNING/);
    expect(out).toContain('"status":"ok"');
  });

  it('admin endpoints with an admin session', async () => {
    const out = await run('admin');
    expect(out).toContain('"processes"');
    expect(out).toMatch(/"limit":3000/);
  });

  it('reads one request in nginx access log and the api log', async () => {
    const out = await run('logs');
    const lines = out.split('\n').filter((l) => /"request_id"|"reqId"/.test(l));
    expect(lines.some((l) => l.includes('"upstream_addr"'))).toBe(true);
    expect(lines.some((l) => l.includes('"reqId"'))).toBe(true);
  });

  it('a queue backlog: sizes, workers, then more workers', async () => {
    expect((await cli(['queue:pause', 'default'])).code).toBe(0);
    const jobs = JSON.parse((await cli(['queue:probe', '--count=20', '--json'])).stdout) as Array<{ id: string }>;
    expect(jobs).toHaveLength(20);
    const out = await run('queue-backlog');
    expect(out).toMatch(/default/);
    expect(state().workers).toBe(4);
    expect((await running()).filter((n) => n.startsWith('switchboard-worker:'))).toHaveLength(4);
    expect((await cli(['queue:continue', 'default'])).code).toBe(0);
    await kit.waitState('default', jobs[jobs.length - 1].id, 'completed', 90000);
    await waitFor(async () => (JSON.parse((await cli(['queue:status', '--json'])).stdout) as unknown[]).length === 4, 30000, 1000);
  });

  it('scales the workers back down', async () => {
    await run('scale-workers-down');
    expect(state().workers).toBe(2);
    const workers = (await running()).filter((n) => n.startsWith('switchboard-worker:'));
    expect(workers.sort()).toEqual(workerNames().sort());
  });

  it('failed jobs: the reasons, then back on the queue', async () => {
    const jobs = JSON.parse((await cli(['queue:probe', '--fail', '--count=2', '--json'])).stdout) as Array<{ id: string }>;
    for (const j of jobs) await kit.waitState('default', j.id, 'failed', 60000);
    const out = await run('failed-jobs');
    for (const j of jobs) expect(out).toContain(`default:${j.id}`);
    for (const j of jobs) expect(out).toContain(`Pushed default:${j.id} back onto its queue.`);
  });

  it('restarts one api process; it comes back on /up', async () => {
    const program = `switchboard-api-${base + 1}`;
    const before = (await status()).get(program)?.pid;
    await run('restart-api');
    const after = (await status()).get(program);
    expect(after?.state).toBe('RUNNING');
    expect(after?.pid).not.toBe(before);
    expect(await upStatus(base + 1)).toBe(200);
  });

  it('drains one api process out and back while nginx keeps answering', async () => {
    const statuses: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        statuses.push(await upStatus(base));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await run('drain');
    probing = false;
    await prober;
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await waitFor(async () => (await upStatus(base + 2)) === 200, 60000, 500);
  });

  it('a replica down: /up says so, the replica is started, replication runs', async () => {
    const upBody = async (port: number) => (await fetch(`${url(port)}/up`, { signal: AbortSignal.timeout(5000) }).catch(() => null))?.text() ?? '';
    await stack.control.stop(stack.name, 'replica');
    try {
      // Every process notices within its replica check (about a second), nginx may ask any of them.
      for (const port of apiPorts()) await waitFor(async () => /"status":"degraded"/.test(await upBody(port)), 60000, 500);
      const out = await run('replica-down');
      expect(out).toMatch(/"status":"degraded"/);
      expect(out).toMatch(/io=Yes sql=Yes/);
      expect(out).toMatch(/Slave_IO_Running: Yes/);
    } finally {
      await stack.control.start(stack.name, 'replica');
    }
    for (const port of apiPorts()) await waitFor(async () => /^\{"status":"ok"/.test(await upBody(port)), 60000, 500);
  });

  it('maintenance mode: 503 for everyone, then back', async () => {
    const out = await run('maintenance');
    expect(out).toMatch(/^503$/m);
    // `up` clears the flag; each process reads it once a second, and nginx, which counted the maintenance
    // 503s as failures of every api process (max_fails=2 fail_timeout=2s), sends to them again within 2 s.
    let last = '';
    await waitFor(async () => {
      const res = await fetch(`${url()}/api/auth/me`);
      last = `${res.status} ${await res.text()}`;
      return res.status === 401 ? true : undefined;
    }, 6000, 200).catch((err: Error) => {
      throw new Error(`${err.message}; last answer ${last}; the block printed:\n${out}`);
    });
  });

  it('changes a limit and rolls the api processes onto it', async () => {
    const pids = await Promise.all(apiPorts().map(async (p) => (await status()).get(`switchboard-api-${p}`)?.pid));
    const out = await run('change-limit');
    expect(out).toMatch(/"limit":4000/);
    for (const port of apiPorts()) {
      const res = await admin.client.on(url(port)).get('/api/connections/stats');
      expect(res.body.limit).toBe(4000);
    }
    const after = await Promise.all(apiPorts().map(async (p) => (await status()).get(`switchboard-api-${p}`)?.pid));
    for (const [i, pid] of after.entries()) expect(pid).not.toBe(pids[i]);
  });

  it('rotates the secrets: old sessions and tokens end, new ones work on every process', async () => {
    const user = await registerTokenUser(url(), 'rotation');
    expect((await user.client.get('/api/auth/me')).status).toBe(200);
    await run('rotate-secrets');
    for (const port of apiPorts()) {
      expect((await user.client.on(url(port)).get('/api/auth/me')).status).toBe(401);
      expect((await admin.client.on(url(port)).get('/api/auth/me')).status).toBe(401);
    }
    const fresh = new HttpClient(url());
    expect((await fresh.post('/api/auth/login', { email: user.email, password: user.password })).status).toBe(200);
    const token = (await fresh.post('/api/auth/token')).body as { token: string };
    for (const port of apiPorts()) {
      const c = new HttpClient(url(port));
      c.token = token.token;
      expect((await c.get('/api/auth/me')).status).toBe(200);
    }
    await admin.client.post('/api/auth/login', { email: admin.email, password: admin.password });
  });

  it('adds an api process and takes it away again, nginx reloaded each time', async () => {
    const out = await run('scale-api');
    expect(out).toContain(`switchboard-api-${base + 4} answers /up`);
    expect(state().instances).toBe(3);
    expect(await running()).not.toContain(`switchboard-api-${base + 4}`);
    await waitFor(() => portIsFree(base + 4), 30000, 500);
    expect(upstreamPorts()).toEqual({ http: 3, sockets: 3, same: true });
    expect(await upStatus(base)).toBe(200);
  });

  it('a second npm run up with another count scales the running cluster', async () => {
    const pids = await Promise.all(apiPorts().map(async (p) => (await status()).get(`switchboard-api-${p}`)?.pid));
    await run('readme-scale');
    expect(state().instances).toBe(4);
    expect(await upStatus(base + 4)).toBe(200);
    expect(upstreamPorts()).toEqual({ http: 4, sockets: 4, same: true });
    // Nothing else was restarted.
    const after = await Promise.all(pids.map(async (_, i) => (await status()).get(`switchboard-api-${base + 1 + i}`)?.pid));
    expect(after).toEqual(pids);
  });

  it('reaches the local databases', async () => {
    const out = await run('databases');
    expect(out).toMatch(/users\s*\n\s*\d+/);
    expect(out).toMatch(/gtid_slave_pos/);
    expect(out).toMatch(/# Keyspace/);
  });

  it('backs up MariaDB and Redis', async () => {
    const out = await run('backup');
    expect(readFileSync(join(ROOT, '.stack', 'backups', 'switchboard.sql'), 'utf8')).toMatch(/CREATE TABLE `users`/);
    expect(out).toMatch(/Background saving started|already in progress/);
  });

  it('a stuck job: its worker is killed, the job comes back and runs again', async () => {
    // Long enough that the block (two commands, slow on a loaded machine) kills it mid-run; under --timeout=60.
    const jobs = JSON.parse((await cli(['queue:probe', '--count=2', '--sleep=45000', '--ignore-abort', '--json'])).stdout) as Array<{ id: string }>;
    const victim = `switchboard-worker:switchboard-worker-${base + 101}`;
    const victimPid = (await status()).get(victim)?.pid;
    interface WorkerView {
      pid: number;
      current: string[];
    }
    let stuck = '';
    await waitFor(
      async () => {
        const workers = JSON.parse((await cli(['queue:status', '--json'])).stdout) as WorkerView[];
        // current: ["default:12 probe", ...]
        const mine = workers.find((w) => w.pid === victimPid);
        const current = (mine?.current ?? []).map(String);
        stuck = jobs.find((j) => current.some((c) => c.startsWith(`default:${j.id} `)))?.id ?? '';
        return stuck !== '';
      },
      30000,
      500,
    );
    const killedAt = Date.now();
    await run('stuck-job');
    await waitFor(async () => {
      const s = (await status()).get(victim);
      return s?.state === 'RUNNING' && s.pid !== victimPid;
    }, 30000, 500);
    // Back in the queue through the stalled-job check and started again (not lost, not left active on a dead worker).
    const restarted = await waitFor(async () => {
      const job = await kit.job('default', stuck);
      return job && (job.processedOn ?? 0) > killedAt && ['active', 'completed'].includes(await job.getState()) ? job : undefined;
    }, 60000, 500);
    expect(restarted.attemptsStarted).toBeGreaterThanOrEqual(2);
  });
});

/** Every block id the pages must have, in the order the suite runs them (see the its above). */
const CHECKED = [
  'overview',
  'admin',
  'logs',
  'queue-backlog',
  'scale-workers-down',
  'failed-jobs',
  'restart-api',
  'drain',
  'replica-down',
  'maintenance',
  'change-limit',
  'rotate-secrets',
  'scale-api',
  'readme-scale',
  'databases',
  'backup',
  'stuck-job',
];
