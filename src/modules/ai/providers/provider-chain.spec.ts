import { Logger } from '@nestjs/common';
import { AiUnavailableError } from '../ai.errors';
import { Semaphore } from '../semaphore';
import type { AiProvider, AiRequest } from './ai-provider';
import { localAnswer, LocalProvider } from './local.provider';
import { ProviderChain } from './provider-chain';

/** A scripted provider: answers, throws, or never answers (honouring the abort signal). */
class ScriptedProvider implements AiProvider {
  readonly supportsBatch = false;
  calls = 0;
  constructor(
    readonly name: string,
    public mode: 'ok' | 'error' | 'hang',
  ) {}
  async complete(request: AiRequest, signal: AbortSignal): Promise<string> {
    this.calls += 1;
    if (this.mode === 'error') throw new Error('boom');
    if (this.mode === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return `${this.name}:${request.query}`;
  }
}

function chain(providers: AiProvider[], opts: { timeoutMs?: number; cooldownMs?: number; concurrency?: number } = {}) {
  return new ProviderChain(providers, new Semaphore(opts.concurrency ?? 10), {
    timeoutMs: opts.timeoutMs ?? 50,
    breaker: { failureThreshold: 1, cooldownMs: opts.cooldownMs ?? 60_000 },
  });
}

describe('ProviderChain', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('answers from the first provider that works, in order', async () => {
    const dead = new ScriptedProvider('dead', 'error');
    const live = new ScriptedProvider('live', 'ok');
    const [r] = await chain([dead, live, new LocalProvider()]).completeMany([{ query: 'q' }]);
    expect(r).toEqual({ ok: true, value: expect.objectContaining({ answer: 'live:q', provider: 'live' }) });
  });

  it('moves on when a provider times out, then skips it while its circuit is open', async () => {
    const hung = new ScriptedProvider('hung', 'hang');
    const c = chain([hung, new LocalProvider()], { timeoutMs: 30 });
    const [first] = await c.completeMany([{ query: 'a' }]);
    expect(first.ok && first.value.provider).toBe('local');
    const [second] = await c.completeMany([{ query: 'b' }]);
    expect(second.ok && second.value.provider).toBe('local');
    expect(hung.calls).toBe(1);
    expect(c.breakerStates()).toEqual({ hung: 'open', local: 'closed' });
  });

  it('probes a provider again after the cooldown and uses it once it answers', async () => {
    const flaky = new ScriptedProvider('flaky', 'error');
    const c = chain([flaky, new LocalProvider()], { cooldownMs: 30 });
    await c.completeMany([{ query: 'a' }]);
    flaky.mode = 'ok';
    await new Promise((r) => setTimeout(r, 40));
    const [r] = await c.completeMany([{ query: 'b' }]);
    expect(r.ok && r.value.provider).toBe('flaky');
    expect(c.breakerStates().flaky).toBe('closed');
  });

  it('fails with AiUnavailableError when no provider answers', async () => {
    const [r] = await chain([new ScriptedProvider('x', 'error')]).completeMany([{ query: 'q' }]);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toBeInstanceOf(AiUnavailableError);
  });

  it('sends a batch to a batching provider as one call', async () => {
    const local = new LocalProvider();
    const spy = jest.spyOn(local, 'completeBatch');
    const requests = [{ query: 'a' }, { query: 'b' }, { query: 'c', context: { x: 1 } }];
    const results = await chain([local]).completeMany(requests);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(results.map((r) => r.ok && r.value.answer)).toEqual(requests.map(localAnswer));
  });

  it('keeps provider calls within the concurrency cap', async () => {
    let active = 0;
    let maxActive = 0;
    const slow: AiProvider = {
      name: 'slow',
      supportsBatch: false,
      complete: async (req) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        active -= 1;
        return req.query;
      },
    };
    const requests = Array.from({ length: 12 }, (_, i) => ({ query: `q${i}` }));
    const results = await chain([slow], { concurrency: 3, timeoutMs: 1000 }).completeMany(requests);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(maxActive).toBe(3);
  });
});

describe('local provider', () => {
  it('answers equal (normalised) inputs equally and different inputs differently', () => {
    expect(localAnswer({ query: 'What is X?' })).toBe(localAnswer({ query: '  what is   x? ' }));
    expect(localAnswer({ query: 'What is X?' })).not.toBe(localAnswer({ query: 'What is X?', context: { room: 1 } }));
    expect(localAnswer({ query: 'What is X?' })).toContain('"what is x?"');
  });
});

describe('ProviderChain batching preference', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('prefers batches only when the provider a call would reach takes them', async () => {
    const remote = new ScriptedProvider('remote', 'error');
    const c = chain([remote, new LocalProvider()]);
    expect(c.prefersBatches()).toBe(false);
    await c.completeMany([{ query: 'q' }]); // remote fails, its circuit opens: calls now reach local
    expect(c.prefersBatches()).toBe(true);
  });
});
