import { Logger } from '@nestjs/common';
import { AiUnavailableError, ProviderError } from '../ai.errors';
import { aiProviderLatency, aiProviderRequests } from '../ai.metrics';
import { BreakerOptions, BreakerState, CircuitBreaker } from '../circuit-breaker';
import type { Settled } from '../micro-batcher';
import type { Semaphore } from '../semaphore';
import type { AiProvider, AiRequest } from './ai-provider';

export interface ProviderAnswer {
  answer: string;
  provider: string;
  /** Time the provider call took (what a later cache hit saves). */
  providerMs: number;
}

export interface ChainOptions {
  timeoutMs: number;
  breaker: BreakerOptions;
}

type CallOutcome<T> = { ok: true; value: T; ms: number } | { ok: false; skipped: boolean };

/** Rejects when `signal` aborts: a provider that ignores its signal still cannot hold a slot past the timeout. */
function whenAborted(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ProviderError('timed out', 'timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Tries the providers in AI_PROVIDERS order. Every call holds one permit of
 * the process-wide semaphore (AI_CONCURRENCY) and is cut at AI_TIMEOUT_MS;
 * each provider has its own circuit breaker, so a dead provider costs one
 * timeout and is then skipped (without waiting for a permit) until a
 * half-open probe succeeds. Requests a provider could not answer move on to
 * the next one; what nobody answers fails with AiUnavailableError (503).
 */
export class ProviderChain {
  private readonly logger = new Logger('AiProviders');
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    readonly providers: AiProvider[],
    private readonly semaphore: Semaphore,
    private readonly opts: ChainOptions,
  ) {
    for (const p of providers) this.breakers.set(p.name, new CircuitBreaker(opts.breaker));
  }

  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.state]));
  }

  /**
   * Whether waiting for a batch can pay: the provider a call would reach now
   * (the first whose circuit is not open) takes batches. For chat completions
   * a batch would only be the same calls sent AI_BATCH_WINDOW_MS later.
   */
  prefersBatches(): boolean {
    for (const p of this.providers) if (this.breakers.get(p.name)!.state !== 'open') return p.supportsBatch;
    return false;
  }

  async completeMany(requests: AiRequest[]): Promise<Array<Settled<ProviderAnswer>>> {
    const results = new Array<Settled<ProviderAnswer>>(requests.length);
    let remaining = requests.map((_, i) => i);
    for (const provider of this.providers) {
      if (!remaining.length) break;
      const failed: number[] = [];
      if (provider.supportsBatch && provider.completeBatch && remaining.length > 1) {
        const batch = remaining.map((i) => requests[i]);
        const outcome = await this.call(provider, (signal) => provider.completeBatch!(batch, signal));
        if (outcome.ok && outcome.value.length === remaining.length) {
          remaining.forEach((i, k) => (results[i] = { ok: true, value: { answer: outcome.value[k], provider: provider.name, providerMs: outcome.ms } }));
        } else failed.push(...remaining);
      } else {
        await Promise.all(
          remaining.map(async (i) => {
            const outcome = await this.call(provider, (signal) => provider.complete(requests[i], signal));
            if (outcome.ok) results[i] = { ok: true, value: { answer: outcome.value, provider: provider.name, providerMs: outcome.ms } };
            else failed.push(i);
          }),
        );
      }
      remaining = failed;
    }
    for (const i of remaining) results[i] = { ok: false, error: new AiUnavailableError(this.providers.map((p) => p.name)) };
    return results;
  }

  private async call<T>(provider: AiProvider, fn: (signal: AbortSignal) => Promise<T>): Promise<CallOutcome<T>> {
    const breaker = this.breakers.get(provider.name)!;
    const skip = (): CallOutcome<T> => {
      aiProviderRequests.inc({ provider: provider.name, status: 'skipped' });
      return { ok: false, skipped: true };
    };
    // Peek first so an open circuit does not wait for a permit; acquire for real once holding one.
    if (breaker.state === 'open') return skip();
    return this.semaphore.run(async () => {
      if (!breaker.tryAcquire()) return skip();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.opts.timeoutMs);
      const aborted = whenAborted(controller.signal);
      const started = performance.now();
      try {
        const value = await Promise.race([fn(controller.signal), aborted.promise]);
        const ms = performance.now() - started;
        breaker.success();
        aiProviderRequests.inc({ provider: provider.name, status: 'ok' });
        aiProviderLatency.observe({ provider: provider.name }, ms / 1000);
        return { ok: true, value, ms };
      } catch (err) {
        const status = controller.signal.aborted ? 'timeout' : 'error';
        breaker.failure();
        aiProviderRequests.inc({ provider: provider.name, status });
        aiProviderLatency.observe({ provider: provider.name }, (performance.now() - started) / 1000);
        this.logger.warn({ provider: provider.name, status, reason: (err as Error)?.message, breaker: breaker.state }, 'AI provider call failed');
        return { ok: false, skipped: false };
      } finally {
        clearTimeout(timer);
        aborted.dispose();
      }
    });
  }
}
