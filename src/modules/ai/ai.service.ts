import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../config/app-config';
import { BadRequestError } from '../../core/errors/domain-error';
import { AiResponseCache } from './ai.cache';
import { cacheKey } from './ai.keys';
import { aiCacheRequests } from './ai.metrics';
import { MicroBatcher } from './micro-batcher';
import type { AiContext, AiProvider, AiRequest } from './providers/ai-provider';
import { LocalProvider } from './providers/local.provider';
import { OPENAI_COMPATIBLE, OpenAiCompatibleProvider } from './providers/openai-compatible.provider';
import { ProviderAnswer, ProviderChain } from './providers/provider-chain';
import { Semaphore } from './semaphore';
import { SingleFlight } from './single-flight';

/** Longest query accepted (characters), over HTTP and from other modules alike. */
export const MAX_QUERY_CHARS = 8000;

/** Who asks, when a user does (assistant jobs and analysis stations ask for no one). */
export interface AiAsker {
  id: number;
  role: string;
}

export interface AiAnswer {
  answer: string;
  provider: string;
  cached: boolean;
  /**
   * Hits of the cache entry this answer came from (0 for a fresh answer): all
   * of them for an admin or an internal caller, only the asker's own for
   * anyone else, so nobody learns how often others asked the same.
   */
  hitCount: number;
  latencyMs: number;
}

interface Produced extends ProviderAnswer {
  /** provider: this process called it; peer: another process did, we read its cache entry. */
  via: 'provider' | 'peer';
}

export function buildProviders(config: AppConfig['ai']): AiProvider[] {
  return config.providers.map((spec) =>
    spec === 'local'
      ? new LocalProvider(config.localLatencyMs)
      : new OpenAiCompatibleProvider(spec.slice(OPENAI_COMPATIBLE.length), config.model, config.apiKey),
  );
}

/**
 * Answers assistant requests: Redis response cache first, then one provider
 * call per distinct request in flight (single-flight in the process, a
 * short Redis lock across processes), batched over
 * AI_BATCH_WINDOW_MS, capped at AI_CONCURRENCY calls per process, with
 * failover across AI_PROVIDERS. Redis being away costs the cache, never
 * the answer.
 */
@Injectable()
export class AiService implements OnModuleDestroy {
  private readonly logger = new Logger(AiService.name);
  private readonly chain: ProviderChain;
  private readonly batcher: MicroBatcher<AiRequest, ProviderAnswer>;
  private readonly flights = new SingleFlight<Produced>();
  private readonly cacheEnabled: boolean;
  private readonly perUserCache: boolean;
  /** How long one process may hold a call's cross-process lock: every provider timing out, plus slack. */
  private readonly lockTtlMs: number;

  constructor(
    config: AppConfig,
    private readonly cache: AiResponseCache,
  ) {
    const ai = config.ai;
    this.cacheEnabled = ai.cacheEnabled;
    this.perUserCache = ai.cacheScope === 'user';
    this.lockTtlMs = ai.timeoutMs * ai.providers.length + 2000;
    this.chain = new ProviderChain(buildProviders(ai), new Semaphore(ai.concurrency), {
      timeoutMs: ai.timeoutMs,
      breaker: { failureThreshold: ai.breakerFailures, cooldownMs: ai.breakerCooldownMs },
    });
    this.batcher = new MicroBatcher({ windowMs: ai.batchWindowMs, maxSize: ai.batchMaxSize }, (requests) => this.chain.completeMany(requests));
  }

  onModuleDestroy(): void {
    this.batcher.dispatch();
  }

  /** Circuit state per provider (for diagnostics). */
  providerStates() {
    return this.chain.breakerStates();
  }

  async answer(query: string, context?: AiContext, asker?: AiAsker): Promise<AiAnswer> {
    const started = performance.now();
    if (typeof query !== 'string' || !query.trim()) throw new BadRequestError('query must not be empty');
    if (query.length > MAX_QUERY_CHARS) throw new BadRequestError(`query must be at most ${MAX_QUERY_CHARS} characters`);
    const key = cacheKey(query, context, this.perUserCache && asker ? `u${asker.id}` : undefined);
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;

    let cacheUp = this.cacheEnabled;
    if (!cacheUp) aiCacheRequests.inc({ result: 'bypass' });
    else {
      try {
        const seesAll = !asker || asker.role === 'admin';
        const hit = await this.cache.lookup(key, seesAll ? undefined : asker.id);
        if (hit) {
          aiCacheRequests.inc({ result: 'hit' });
          const hitCount = seesAll ? hit.hitCount : hit.askerHitCount;
          const latencyMs = elapsed();
          await this.cache.recordSaved(hit.providerMs - latencyMs).catch(() => undefined);
          return { answer: hit.answer, provider: hit.provider, cached: true, hitCount, latencyMs };
        }
      } catch (err) {
        cacheUp = false;
        aiCacheRequests.inc({ result: 'bypass' });
        this.logger.warn({ reason: (err as Error).message }, 'AI cache unavailable; answering uncached');
      }
    }

    const flight = this.flights.run(key, () => this.produce(key, { query, context }, cacheUp));
    if (!flight.leader) this.count('coalesced', cacheUp);
    let fresh: Produced;
    try {
      fresh = await flight.promise;
    } catch (err) {
      if (flight.leader) this.count('miss', cacheUp);
      throw err;
    }
    if (flight.leader) this.count(fresh.via === 'peer' ? 'coalesced' : 'miss', cacheUp);
    return { answer: fresh.answer, provider: fresh.provider, cached: false, hitCount: 0, latencyMs: elapsed() };
  }

  private async callAlone(request: AiRequest): Promise<ProviderAnswer> {
    const [result] = await this.chain.completeMany([request]);
    if (!result.ok) throw result.error;
    return result.value;
  }

  private count(result: 'miss' | 'coalesced', cacheUp: boolean): void {
    if (!cacheUp) return; // already counted as a bypass
    aiCacheRequests.inc({ result });
    this.cache.count(result === 'miss' ? 'misses' : 'coalesced').catch(() => undefined);
  }

  /**
   * The one provider call for `key` in this process (behind single-flight),
   * stored before anyone is answered. Across processes a short Redis lock
   * makes the others wait for the entry instead of calling the provider too.
   */
  private async produce(key: string, request: AiRequest, cacheUp: boolean): Promise<Produced> {
    // What a miss costs end to end (lock, batch window, provider): a later hit saves this, less its own time.
    const began = performance.now();
    let token: string | undefined;
    if (cacheUp) {
      try {
        token = randomUUID();
        if (!(await this.cache.tryLock(key, token, this.lockTtlMs))) {
          token = undefined;
          const peer = await this.awaitPeer(key);
          if (peer) return { ...peer, via: 'peer' };
        }
      } catch {
        token = undefined; // Redis trouble: call the provider ourselves
      }
    }
    try {
      const fresh = this.chain.prefersBatches() ? await this.batcher.add(request) : await this.callAlone(request);
      if (cacheUp) {
        try {
          await this.cache.store(key, { ...fresh, providerMs: performance.now() - began });
        } catch (err) {
          this.logger.warn({ reason: (err as Error).message }, 'AI answer not cached');
        }
      }
      return { ...fresh, via: 'provider' };
    } finally {
      if (token) this.cache.unlock(key, token).catch(() => undefined);
    }
  }

  /** Waits for another process's answer; null when it gave up (lock gone, no entry) or took too long. */
  private async awaitPeer(key: string): Promise<ProviderAnswer | null> {
    const deadline = Date.now() + this.lockTtlMs;
    let delay = 10;
    while (Date.now() < deadline) {
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
      const { entry, locked } = await this.cache.peek(key);
      if (entry) return entry;
      if (!locked) return null;
    }
    return null;
  }
}
