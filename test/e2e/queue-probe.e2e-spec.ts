import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../support/api-process';
import { stackEnv } from '../support/stack';
import { QueueKit } from './queue-test-kit';

jest.setTimeout(300000);

/** queue:probe --count=N adds in bulk (addBulk, 1000 a round trip), with progress on stderr. */
describe('queue:probe in bulk', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());
  afterEach(async () => {
    await kit.queue('default').obliterate({ force: true, count: 10000 });
  });

  it('adds 100000 jobs and, off a terminal, prints a plain progress line per tenth', async () => {
    const started = Date.now();
    const r = await kit.cli(['queue:probe', '--count=100000'], {}, 240000);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code).toBe(0);
    expect(await kit.queue('default').getWaitingCount()).toBe(100000);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('Dispatched'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `Dispatched ${(i + 1) * 10000}/100000 probe jobs (${(i + 1) * 10}%)`),
    );
    expect(r.stderr).not.toContain('\r');
    expect(r.stdout).toMatch(/^Dispatched 100000 probe jobs on default: ids 1 … 100000\n$/);
    process.stderr.write(`queue:probe --count=100000 took ${seconds.toFixed(1)} s (process start included)\n`);
  });

  it('draws a progress bar on a terminal', async () => {
    // util-linux `script` gives the command a pseudo-terminal, as an operator's shell would.
    const env = { ...process.env, ...stackEnv(), ...kit.env, LOG_LEVEL: 'warn' };
    const command = `${process.execPath} ${join(ROOT, 'bin', 'switchboard')} queue:probe --count=3000`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))));
    });
    expect(out).toContain(`\r[${'#'.repeat(10)}${'-'.repeat(20)}]  33% 1000/3000 probe jobs`);
    expect(out).toContain(`\r[${'#'.repeat(30)}] 100% 3000/3000 probe jobs`);
    expect(out).not.toMatch(/Dispatched \d+\/3000/);
    expect(await kit.queue('default').getWaitingCount()).toBe(3000);
  });
});
