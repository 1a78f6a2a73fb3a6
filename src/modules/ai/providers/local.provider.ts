import { setTimeout as sleep } from 'node:timers/promises';
import { cacheKey, normaliseQuery } from '../ai.keys';
import type { AiProvider, AiRequest } from './ai-provider';

const OPENINGS = [
  'Here is the short answer',
  'In brief',
  'The offline assistant suggests',
  'A quick take',
] as const;
const CLOSINGS = [
  'Ask a follow-up question for more detail.',
  'An online provider would give a fuller answer.',
  'Check the project documentation for specifics.',
  'Reply in this room if you need more.',
] as const;

/** The text the local provider gives for a request: a pure function of the normalised query and the context. */
export function localAnswer(request: AiRequest): string {
  const digest = cacheKey(request.query, request.context);
  const n = parseInt(digest.slice(0, 8), 16);
  const topic = normaliseQuery(request.query);
  const excerpt = topic.length > 120 ? `${topic.slice(0, 117)}...` : topic;
  return `${OPENINGS[n % OPENINGS.length]} on "${excerpt}": ${CLOSINGS[(n >>> 8) % CLOSINGS.length]} [local:${digest.slice(0, 12)}]`;
}

/**
 * Deterministic and offline: equal inputs give equal answers, so everything
 * runs without a network. `latencyMs` (AI_LOCAL_LATENCY_MS) simulates a model
 * per call, one call per batch, so batching and the concurrency cap can be
 * seen and measured without a real provider.
 */
export class LocalProvider implements AiProvider {
  readonly name = 'local';
  readonly supportsBatch = true;

  constructor(private readonly latencyMs = 0) {}

  async complete(request: AiRequest, signal: AbortSignal): Promise<string> {
    return (await this.completeBatch([request], signal))[0];
  }

  async completeBatch(requests: AiRequest[], signal: AbortSignal): Promise<string[]> {
    if (this.latencyMs > 0) await sleep(this.latencyMs, undefined, { signal });
    signal.throwIfAborted();
    return requests.map(localAnswer);
  }
}
