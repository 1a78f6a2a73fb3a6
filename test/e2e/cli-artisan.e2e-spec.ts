import { runCli } from '../support/api-process';

jest.setTimeout(60000);

/** Nothing listens on these: help, list and version must not need a service. */
const NOTHING_RUNS = { DB_WRITE_HOST: '127.0.0.1', DB_WRITE_PORT: '1', DB_READ_HOST: '127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

describe('bin/switchboard feels like artisan', () => {
  it('--help exits 0, names the program switchboard and groups commands by namespace, with no service running', async () => {
    const started = Date.now();
    const r = await runCli(['--help'], NOTHING_RUNS);
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.stdout).toMatch(/^Usage:\n {2}switchboard <command>/);
    expect(r.stdout).not.toContain('outputHelp');
    expect(r.stdout).toMatch(/\n queue\n {2}queue:\w+ /);
    expect(r.stdout).toMatch(/\n {2}queue:failed +List failed jobs/);
    expect(r.stdout).toMatch(/\n user\n {2}user:create /);
    expect(r.stderr).toBe('');
  });

  it('list prints the same groups and --json the commands', async () => {
    const text = await runCli(['list'], NOTHING_RUNS);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Available commands:');
    const json = await runCli(['list', '--json'], NOTHING_RUNS);
    expect(json.code).toBe(0);
    const names = (JSON.parse(json.stdout) as Array<{ name: string }>).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['queue:work', 'queue:failed', 'migrate', 'list']));
  });

  it("a command's --help exits 0 and shows its options under the program's name", async () => {
    const r = await runCli(['queue:work', '--help'], NOTHING_RUNS);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: switchboard queue:work \[options\]/);
    expect(r.stdout).toContain('--memory <mb>');
    expect((await runCli(['help', 'queue:failed'], NOTHING_RUNS)).stdout).toContain('--json');
  });

  it('--version prints the version', async () => {
    const r = await runCli(['--version'], NOTHING_RUNS);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^switchboard \d+\.\d+\.\d+ \(node v\d+/);
  });

  it('an unknown command is said once, at once', async () => {
    const r = await runCli(['queue:wrok'], NOTHING_RUNS);
    expect(r.code).toBe(2);
    expect(r.stderr.match(/queue:wrok/g)).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('an unknown option of a real command is said once', async () => {
    const r = await runCli(['queue:failed', '--bogus']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.match(/--bogus/g)).toHaveLength(1);
  });
});
