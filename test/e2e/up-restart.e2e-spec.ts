import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, ManagedProcess, ROOT } from '../support/api-process';
import { waitFor } from '../support/http-client';

/** `npm run up` (scripts/up.js, one api + one worker) keeps the rest running when one process dies, and restarts it. */
describe('npm run up: one dead process does not take the stack down', () => {
  jest.setTimeout(120000);
  let up: ManagedProcess;
  let port: number;

  const pidOf = (name: 'api' | 'worker', after = 0): number | undefined => {
    const text = up.logs().slice(after);
    const pattern = name === 'api' ? /^api \| .*"pid":(\d+).*"api listening"/gm : /^worker \| .*"pid":(\d+)/gm;
    const pids = [...text.matchAll(pattern)].map((m) => Number(m[1]));
    return pids[pids.length - 1];
  };
  const livez = async () => (await fetch(`http://127.0.0.1:${port}/livez`, { signal: AbortSignal.timeout(2000) })).status === 200;

  beforeAll(async () => {
    port = await freePort();
    // The services npm test started (DB_*, REDIS_URL are set), a keyspace of its own for the worker it runs.
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'up.js')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), LOG_LEVEL: 'info', REDIS_PREFIX: `up-e2e-${port}:`, NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up = new ManagedProcess(child, 'up');
    await waitFor(livez, 60000, 200).catch((err: Error) => {
      throw new Error(`${err.message}\n${up.logs()}`);
    });
  });

  afterAll(async () => {
    await up?.stop(30000);
  });

  it('restarts a SIGKILLed api process, says so, and leaves the worker running', async () => {
    const api = await waitFor(async () => pidOf('api'), 20000);
    const worker = await waitFor(async () => pidOf('worker') ?? (/worker \|/.test(up.logs()) && -1), 20000);
    const mark = up.logs().length;
    process.kill(api, 'SIGKILL');
    await waitFor(async () => /api exited \(SIGKILL\); restarting it/.test(up.logs().slice(mark)), 10000);
    const restarted = await waitFor(async () => pidOf('api', mark), 60000, 200);
    expect(restarted).not.toBe(api);
    await waitFor(livez, 30000, 200);
    expect(up.running).toBe(true);
    expect(up.logs().slice(mark)).not.toMatch(/^worker \| exited/m);
    if (worker > 0) expect(() => process.kill(worker, 0)).not.toThrow();
  });

  it('still stops everything on SIGTERM, exiting 0', async () => {
    up.child.kill('SIGTERM');
    const { code } = await up.exited;
    expect(code).toBe(0);
    expect(await livez().catch(() => false)).toBe(false);
  });
});
