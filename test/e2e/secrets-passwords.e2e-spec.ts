import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiProcess, freePort, ROOT, runCli, startApi } from '../support/api-process';
import { HttpClient, registerUser } from '../support/http-client';
import { stackEnv } from '../support/stack';

/** The secret this repository used to fall back on outside production: public, so anyone could sign with it. */
const PUBLISHED_JWT_SECRET = 'switchboard-development-jwt-secret';

function forgeToken(secret: string, claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** `node dist/main.js` with `env` on top of the test stack: its exit code and output, or null if it kept running. */
async function startExpectingExit(env: Record<string, string>, timeoutMs = 20000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn', PORT: String(await freePort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, output });
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('secrets: no running process accepts a published one', () => {
  let bare: ApiProcess;

  afterAll(async () => {
    await bare?.stop();
  });

  it('refuses an admin token signed with the old development secret when no secret is set', async () => {
    // What `npm run up -- --instances 3` used to run: NODE_ENV unset, no secrets.
    bare = await startApi({ NODE_ENV: '', SESSION_SECRET: '', JWT_SECRET: '' });
    const victim = await registerUser(bare.url, 'victim');
    const now = Math.floor(Date.now() / 1000);
    const forged = forgeToken(PUBLISHED_JWT_SECRET, { sub: String(victim.id), role: 'admin', jti: randomUUID(), iat: now, exp: now + 600 });
    const res = await fetch(`${bare.url}/api/connections/stats`, { headers: { authorization: `Bearer ${forged}` } });
    expect(res.status).toBe(401);
    // The process still works with what it signs itself.
    const token = (await victim.client.post('/api/auth/token')).body.token as string;
    expect((await fetch(`${bare.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('hands every process of the stack its own secrets, made once and kept private under .stack/', () => {
    const kept = JSON.parse(readFileSync(join(ROOT, '.stack', 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(process.env.JWT_SECRET).toBe(kept.JWT_SECRET);
    expect(process.env.SESSION_SECRET).toBe(kept.SESSION_SECRET);
    expect(kept.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(ROOT, '.stack', 'secrets.json')).mode & 0o077).toBe(0);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { localSecrets } = require(join(ROOT, 'scripts', 'secrets.js')) as { localSecrets(root: string): Record<string, string> };
    const dir = mkdtempSync(join(tmpdir(), 'sb-secrets-'));
    const first = localSecrets(dir);
    expect(localSecrets(dir)).toEqual(first);
    expect(first.JWT_SECRET).not.toBe(kept.JWT_SECRET);
  });

  it('refuses to start in production with a published secret, naming the variable', async () => {
    const r = await startExpectingExit({ NODE_ENV: 'production', SESSION_SECRET: 'a'.repeat(40), JWT_SECRET: PUBLISHED_JWT_SECRET });
    expect(r.code).toBe(1);
    expect(r.output).toContain('JWT_SECRET is a published example value');
    expect(r.output).not.toContain(PUBLISHED_JWT_SECRET);
  });

  it('never echoes the rejected value of a variable', async () => {
    const r = await startExpectingExit({ SESSION_SECRET: 'tiny-secret-x' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('SESSION_SECRET must be at least 16 characters');
    expect(r.output).not.toContain('tiny-secret-x');
  });
});

describe('passwords', () => {
  let api: ApiProcess;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('refuses a common password, the email itself and short ones at registration, and creates nobody', async () => {
    const email = `weak-${randomUUID().slice(0, 8)}@example.test`;
    const client = new HttpClient(api.url);
    for (const [password, message] of [
      ['password123', /most common/],
      ['Qwertyuiop', /most common/],
      [email.toUpperCase(), /email/],
      ['short', /8/],
    ] as const) {
      const res = await client.post('/api/auth/register', { email, password, name: 'Weak' });
      expect({ password, status: res.status }).toEqual({ password, status: 400 });
      expect(JSON.stringify(res.body.message)).toMatch(message);
    }
    expect((await client.post('/api/auth/login', { email, password: 'password123' })).status).toBe(401);
    expect((await client.post('/api/auth/register', { email, password: 'a sound passphrase', name: 'Sound' })).status).toBe(201);
  });

  it('user:create asks for the password when --password is left out, and applies the same rules', async () => {
    const email = `prompted-${randomUUID().slice(0, 8)}@example.test`;
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'switchboard'), 'user:create', `--email=${email}`], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin.end('typed-secret-pass\n');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining(`Created user ${email}`) });
    expect(out).not.toContain('typed-secret-pass');
    expect((await new HttpClient(api.url).post('/api/auth/login', { email, password: 'typed-secret-pass' })).status).toBe(200);

    // On a terminal (a pty from util-linux `script`): asked twice, and nothing typed is echoed.
    const ttyEmail = `tty-${email}`;
    const tty = spawn('script', ['-qec', `${process.execPath} bin/switchboard user:create --email=${ttyEmail}`, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    const answered = new Set<string>();
    tty.stdout.on('data', (c: Buffer) => {
      screen += c.toString();
      for (const prompt of ['Password: ', 'Password (again): ']) {
        if (screen.includes(prompt) && !answered.has(prompt)) {
          answered.add(prompt);
          tty.stdin.write('tty-typed-pass\r');
        }
      }
    });
    const ttyCode = await new Promise<number | null>((resolve) => tty.once('exit', resolve));
    expect({ ttyCode, screen }).toEqual({ ttyCode: 0, screen: expect.stringContaining(`Created user ${ttyEmail}`) });
    expect(screen).toContain('Password (again): ');
    expect(screen).not.toContain('tty-typed-pass');

    const weak = await runCli(['user:create', `--email=other-${email}`, '--password=12345678']);
    expect(weak.code).toBe(2);
    expect(weak.stderr).toMatch(/most common/);
    // No password and nothing on standard input: a clear error, nobody created.
    const none = await runCli(['user:create', `--email=none-${email}`]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--password/);
  });
});
