import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/api-process';
import { freeBase } from '../support/cluster';
import { waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';
import { QueueKit } from './queue-test-kit';

jest.setTimeout(180000);

/** The real supervisor/switchboard-worker.conf under a real supervisord, with its own config and socket in a temp dir. */
describe('supervisor/switchboard-worker.conf under supervisord', () => {
  const kit = new QueueKit();
  const dir = mkdtempSync(join(tmpdir(), 'sb-supervisor-'));
  const conf = join(dir, 'supervisord.conf');
  let supervisord: ChildProcess;

  const ctl = (...args: string[]): string => {
    try {
      return execFileSync('supervisorctl', ['-c', conf, ...args], { encoding: 'utf8' });
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? '');
    }
  };
  /** name → pid of the RUNNING workers. */
  const running = (): Map<string, number> => {
    const out = new Map<string, number>();
    for (const m of ctl('status').matchAll(/^(\S+)\s+RUNNING\s+pid (\d+)/gm)) out.set(m[1], Number(m[2]));
    return out;
  };

  beforeAll(async () => {
    writeFileSync(
      conf,
      [
        '[unix_http_server]',
        `file=${join(dir, 'supervisor.sock')}`,
        '[supervisord]',
        `logfile=${join(dir, 'supervisord.log')}`,
        `pidfile=${join(dir, 'supervisord.pid')}`,
        `childlogdir=${dir}`,
        'nodaemon=true',
        '[rpcinterface:supervisor]',
        'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
        '[supervisorctl]',
        `serverurl=unix://${join(dir, 'supervisor.sock')}`,
        '[include]',
        `files=${join(ROOT, 'supervisor', 'switchboard-worker.conf')}`,
        '',
      ].join('\n'),
    );
    // What a server's supervisord environment gives the shipped file (its %(ENV_SWITCHBOARD_*)s placeholders).
    const metricsBase = await freeBase(2);
    supervisord = spawn('supervisord', ['-c', conf], {
      env: {
        ...process.env,
        ...stackEnv(),
        ...kit.env,
        LOG_LEVEL: 'warn',
        SWITCHBOARD_ROOT: ROOT,
        SWITCHBOARD_NODE: process.execPath,
        SWITCHBOARD_LOG_DIR: dir,
        SWITCHBOARD_WORKERS: '2',
        SWITCHBOARD_WORKER_FIRST_METRICS_PORT: String(metricsBase),
      },
      stdio: 'ignore',
    });
    await waitFor(async () => (running().size === 2 ? true : undefined), 60000, 500);
  });

  afterAll(async () => {
    if (supervisord && supervisord.exitCode === null) {
      ctl('stop', 'all');
      supervisord.kill('SIGTERM');
      await new Promise((r) => supervisord.once('exit', r));
    }
    await kit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs numprocs workers that do jobs, on the Node 24 binary SWITCHBOARD_NODE names', async () => {
    const [j] = await kit.probe(['--queue=high']);
    await kit.waitState('high', j.id, 'completed');
    const binaries = [...running().values()].map((pid) => realpathSync(`/proc/${pid}/exe`));
    expect(binaries).toEqual([realpathSync(process.execPath), realpathSync(process.execPath)]);
    expect(execFileSync(binaries[0], ['--version'], { encoding: 'utf8' })).toMatch(/^v24\./);
  });

  it('brings a SIGKILLed worker back', async () => {
    const before = running();
    const [name, pid] = [...before][0];
    process.kill(pid, 'SIGKILL');
    const after = await waitFor(async () => {
      const now = running();
      return now.get(name) && now.get(name) !== pid ? now : undefined;
    }, 60000, 500);
    expect(after.size).toBe(2);
    const [j] = await kit.probe([]);
    await kit.waitState('default', j.id, 'completed');
  });

  it('cycles every worker on queue:restart', async () => {
    const before = running();
    await new Promise((r) => setTimeout(r, 3000)); // the newest worker has read the restart stamp
    const r = await kit.cli(['queue:restart']);
    expect(r.code).toBe(0);
    await waitFor(async () => {
      const now = running();
      return now.size === 2 && [...before].every(([n, p]) => now.get(n) !== undefined && now.get(n) !== p) ? true : undefined;
    }, 60000, 500);
    const [j] = await kit.probe([]);
    await kit.waitState('default', j.id, 'completed');
  });
});
