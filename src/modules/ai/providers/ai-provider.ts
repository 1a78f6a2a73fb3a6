/** Seed 004 passes a text snippet (`context: string`); a JSON object works too. */
export type AiContext = string | Record<string, unknown>;

export interface AiRequest {
  query: string;
  context?: AiContext;
}

/**
 * One way of answering. `complete` must honour `signal` (the chain aborts it
 * at AI_TIMEOUT_MS and moves on). Providers that can answer several requests
 * in one call set `supportsBatch` and implement `completeBatch`.
 */
export interface AiProvider {
  /** As written in AI_PROVIDERS; the `provider` field of answers and the metric label. */
  readonly name: string;
  readonly supportsBatch: boolean;
  complete(request: AiRequest, signal: AbortSignal): Promise<string>;
  completeBatch?(requests: AiRequest[], signal: AbortSignal): Promise<string[]>;
}
