import { collectDefaultMetrics, register } from 'prom-client';

/**
 * prom-client's process_* and nodejs_* metrics, started once per process and only by a process that serves
 * /metrics (the api; queue:work with METRICS_PORT). They are not free: their event-loop lag histogram
 * (monitorEventLoopDelay, 10 ms resolution) wakes the process 100 times a second, ~5 ms of CPU a second
 * on an otherwise idle queue:work (bench/queues/idle-cost.js), which nobody could scrape without a port.
 */
export function collectDefaultMetricsOnce(): void {
  if (register.getSingleMetric('nodejs_version_info')) return;
  collectDefaultMetrics();
}
