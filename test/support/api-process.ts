import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stackEnv } from './stack';

export const ROOT = join(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export class ManagedProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess, readonly name: string) {
    const collect = (chunk: Buffer) => this.output.push(chunk.toString());
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logs(): string {
    return this.output.join('');
  }

  /** SIGTERM (graceful) and wait; SIGKILL after `graceMs`. */
  async stop(graceMs = 10000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export class ApiProcess extends ManagedProcess {
  constructor(child: ChildProcess, readonly port: number) {
    super(child, `api:${port}`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

/** Starts `node dist/main.js` against the test stack and waits for /livez. */
export async function startApi(env: Record<string, string> = {}, opts: { port?: number; timeoutMs?: number; cwd?: string } = {}): Promise<ApiProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn', NODE_ENV: 'test', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const api = new ApiProcess(child, port);
  const deadline = Date.now() + (opts.timeoutMs ?? 60000); // three processes starting at once on a busy 2-core machine took over 30 s
  while (Date.now() < deadline) {
    if (!api.running) throw new Error(`api exited during start:\n${api.logs()}`);
    try {
      const res = await fetch(`${api.url}/livez`);
      if (res.ok) return api;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await api.kill();
  throw new Error(`api did not answer /livez within the deadline:\n${api.logs()}`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/switchboard <args>` to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'switchboard'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchboard ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `bin/switchboard` command (e.g. queue:work). */
export function spawnCli(args: string[], env: Record<string, string> = {}): ManagedProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'switchboard'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...stackEnv(), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ManagedProcess(child, `switchboard ${args[0]}`);
}
