import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from '../support/api-process';
import { stackEnv } from '../support/stack';

/**
 * Node 24 is the runtime even where the machine's own `node` is older (Debian's is 20): the
 * commands an operator types find the project's Node 24 (the `node` dev dependency) by themselves.
 * Here they are started the way a shell does, with a PATH that has no node_modules/.bin on it.
 */
describe('runtime: Node 24 everywhere', () => {
  const shellPath = '/usr/local/bin:/usr/bin:/bin';
  const systemNode = ['/usr/local/bin/node', '/usr/bin/node'].find((p) => existsSync(p));
  const run = (cmd: string, env: Record<string, string> = {}) =>
    spawnSync('/bin/sh', ['-c', cmd], { cwd: ROOT, encoding: 'utf8', env: { HOME: process.env.HOME ?? '/root', PATH: shellPath, ...env }, timeout: 60000 });

  it('runs this test suite itself on Node 24', () => {
    expect(process.version).toMatch(/^v24\./);
  });

  it('bin/switchboard typed in a shell runs the CLI on Node 24 and says so with --version', () => {
    const r = run('bin/switchboard --version');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^switchboard \d+\.\d+\.\d+ \(node v24\.\d+\.\d+\)\n$/);
  });

  it("passes the CLI's exit code back through the relaunch on an older system node", () => {
    if (!systemNode) throw new Error('no system node at /usr/local/bin or /usr/bin');
    // An unknown command exits 2 in the CLI; the wrapper on the system node must not turn it into 0 or 1.
    const r = run(`${systemNode} bin/switchboard no-such-command`, { ...stackEnv(), NODE_ENV: 'test' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no-such-command/);
  });

  it('refuses with a clear message when Node 24 is neither running nor installed', () => {
    if (!systemNode) throw new Error('no system node at /usr/local/bin or /usr/bin');
    const version = spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
    // The relaunch guard: a child that says it was already relaunched never relaunches again.
    const r = run(`${systemNode} bin/switchboard --version`, { SWITCHBOARD_RELAUNCHED: '1' });
    if (/^v24\./.test(version)) {
      expect(r.status).toBe(0); // the machine's own node is already 24: nothing to refuse
    } else {
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/Node 24 is required/);
      expect(r.stdout).toBe('');
    }
  });
});
