import { Counter, Histogram, register } from 'prom-client';

/** SPEC §9 metrics, on the default registry that /metrics serves. Declared once per process. */
function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** result: hit | miss (went to a provider) | coalesced (joined an identical call in flight) | bypass (Redis unavailable). */
export const aiCacheRequests = once(
  'ai_cache_requests_total',
  () =>
    new Counter({
      name: 'ai_cache_requests_total',
      help: 'AI answers by cache outcome (hit, miss, coalesced, bypass)',
      labelNames: ['result'] as const,
    }),
);

/** status: ok | error | timeout | skipped (circuit open). */
export const aiProviderRequests = once(
  'ai_provider_requests_total',
  () =>
    new Counter({
      name: 'ai_provider_requests_total',
      help: 'AI provider calls by provider and outcome (ok, error, timeout, skipped)',
      labelNames: ['provider', 'status'] as const,
    }),
);

export const aiProviderLatency = once(
  'ai_provider_latency_seconds',
  () =>
    new Histogram({
      name: 'ai_provider_latency_seconds',
      help: 'AI provider call duration (one call may carry a batch)',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
);
