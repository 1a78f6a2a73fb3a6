import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { ownStack, stackEnv } from '../support/stack';

jest.setTimeout(120_000);

interface Reply<T> {
  id: number;
  ok: boolean;
  result: T;
  error?: string;
  code?: string;
}

/** AiService / AssistantResponder in their own process (as a queue worker would hold them), driven over stdin. */
class AiHarness {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply<unknown>) => void>();
  readonly ready: Promise<void>;
  private readonly stderr: string[] = [];

  constructor(readonly child: ChildProcess) {
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    child.stderr!.on('data', (c: Buffer) => this.stderr.push(c.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as Reply<unknown> & { ready?: boolean };
      if (msg.ready) markReady();
      else this.waiting.get(msg.id)?.(msg);
    });
  }

  static async start(env: Record<string, string>): Promise<AiHarness> {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'support', 'ai-harness.js')], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(), NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const h = new AiHarness(child);
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`harness exited ${code}: ${h.stderr.join('')}`))));
    await Promise.race([h.ready, exited]);
    return h;
  }

  call<T>(op: string, args: Record<string, unknown> = {}): Promise<Reply<T>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (r: Reply<unknown>) => void);
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  }
}

interface Answer {
  answer: string;
  provider: string;
  cached: boolean;
  hitCount: number;
}

describe('AiService and AssistantResponder as other modules call them', () => {
  let a: AiHarness;
  let b: AiHarness;

  beforeAll(async () => {
    // A fresh start for the race below: nobody has made the assistant user yet.
    const stack = ownStack();
    await stack.control.sql(stack.name, 'primary', "DELETE FROM switchboard.users WHERE email = 'assistant@switchboard.local';");
    [a, b] = await Promise.all([AiHarness.start({ AI_PROVIDERS: 'local' }), AiHarness.start({ AI_PROVIDERS: 'local' })]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('creates one assistant user on first use, even when two processes race for it', async () => {
    const [fromA, fromB] = await Promise.all([a.call<number>('assistantId'), b.call<number>('assistantId')]);
    expect(fromA).toMatchObject({ ok: true, result: expect.any(Number) });
    expect(fromB.result).toBe(fromA.result);
    expect((await a.call<number>('assistantId')).result).toBe(fromA.result);
    const stack = ownStack();
    const rows = await stack.control.sql(stack.name, 'primary', "SELECT id, role FROM switchboard.users WHERE email = 'assistant@switchboard.local';");
    expect(rows.trim().split('\n')).toEqual([`${fromA.result}\tuser`]);
  });

  it('replies to a room message with an answer that depends on the last three messages, the same from another process', async () => {
    const assistantId = (await a.call<number>('assistantId')).result;
    const body = `When is the next release? ${randomUUID()}`;
    const recent = [
      { userId: 8, body: 'Morning all' },
      { userId: 7, body: 'We shipped 1.2 last week' },
      { userId: assistantId, body: 'Noted.' },
    ];
    const first = await a.call<string>('reply', { roomId: 1, body, recent });
    expect(first.ok).toBe(true);
    expect(first.result).toContain('[local:');
    // Same question after the same exchange, in another room and process: the same answer (cache or determinism).
    const again = await b.call<string>('reply', { roomId: 2, body, recent: [{ userId: 99, body: 'ignored: only the last 3 count' }, ...recent] });
    expect(again.result).toBe(first.result);
    // After a different exchange the answer differs.
    const other = await a.call<string>('reply', { roomId: 1, body, recent: [{ userId: 7, body: 'Something else entirely' }] });
    expect(other.result).not.toBe(first.result);
  });

  it('rejects an empty query with a bad_request error', async () => {
    const r = await a.call('answer', { query: '   ' });
    expect(r).toMatchObject({ ok: false, error: 'query must not be empty' });
  });

  it('fails with a 503-class error when no provider answers, without crashing the process', async () => {
    const lonely = await AiHarness.start({ AI_PROVIDERS: 'openai-compatible:http://127.0.0.1:9/v1', AI_TIMEOUT_MS: '2000' });
    try {
      const r = await lonely.call('answer', { query: `nobody home ${randomUUID()}` });
      expect(r).toMatchObject({ ok: false, error: 'No AI provider could answer; try again shortly', code: 'unavailable' });
      const again = await lonely.call('answer', { query: 'still nobody' });
      expect(again.ok).toBe(false);
      expect(lonely.child.exitCode).toBeNull();
    } finally {
      await lonely.stop();
    }
  });

  it('answers uncached while Redis is down, counts it, and caches again once Redis is back', async () => {
    const { control, name } = ownStack();
    const query = `redis drill ${randomUUID()}`;
    const warm = await a.call<Answer>('answer', { query });
    expect(warm.result.cached).toBe(false);
    await control.stop(name, 'redis');
    try {
      const down = await a.call<Answer>('answer', { query });
      expect(down).toMatchObject({ ok: true, result: { provider: 'local', cached: false, answer: warm.result.answer } });
      const metrics = (await a.call<string>('metrics')).result;
      expect(metrics).toMatch(/ai_cache_requests_total\{result="bypass"\} [1-9]/);
    } finally {
      await control.start(name, 'redis');
    }
    const back = await waitFor(async () => {
      const r = await a.call<Answer>('answer', { query });
      return r.ok && r.result.cached ? r.result : undefined;
    }, 30000, 250);
    expect(back).toMatchObject({ cached: true, answer: warm.result.answer });
  });
});
