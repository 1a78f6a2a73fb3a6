import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * The metrics of SPEC §8, on prom-client's default registry (which
 * @willsoto/nestjs-prometheus serves at /metrics). Declared once here so any
 * layer, including code that runs outside DI, records into the same series.
 */
function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const httpRequestDuration = once(
  'http_request_duration_seconds',
  () =>
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
);

export const httpThrottledTotal = once(
  'http_throttled_total',
  () =>
    new Counter({
      name: 'http_throttled_total',
      help: 'HTTP requests answered 429 by a throttle, by limit (login_ip, login_email, write, analyses_active)',
      labelNames: ['limit'] as const,
    }),
);

export const dbQueryDuration = once(
  'db_query_duration_seconds',
  () =>
    new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database query duration by role (primary|replica) and operation',
      labelNames: ['role', 'operation'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
);

export const dbQueriesTotal = once(
  'db_queries_total',
  () =>
    new Counter({
      name: 'db_queries_total',
      help: 'Queries by the role that served them and the kind (read|write)',
      labelNames: ['role', 'kind'] as const,
    }),
);

export const dbReplicaFallbacksTotal = once(
  'db_replica_fallbacks_total',
  () =>
    new Counter({
      name: 'db_replica_fallbacks_total',
      help: 'Reads sent to the primary because no replica was usable (none answered, or all lagged more than DB_REPLICA_MAX_LAG_S)',
    }),
);

export const dbReplicaUp = once(
  'db_replica_up',
  () => new Gauge({ name: 'db_replica_up', help: '1 while at least one replica is in the read pool', labelNames: [] as const }),
);

/** Per replica: the label is its DB_READ_HOST entry (host:port), so the series are bounded by the configuration. */
export const dbReplicaLagSeconds = once(
  'db_replica_lag_seconds',
  () =>
    new Gauge({
      name: 'db_replica_lag_seconds',
      help: 'How far behind the primary the data of each replica is (GTID positions; Seconds_Behind_Master on MySQL); NaN when unknown',
      labelNames: ['replica'] as const,
    }),
);

export const dbReplicaInPool = once(
  'db_replica_in_pool',
  () =>
    new Gauge({
      name: 'db_replica_in_pool',
      help: '1 while the replica takes reads: it answers and lags at most DB_REPLICA_MAX_LAG_S',
      labelNames: ['replica'] as const,
    }),
);

export const dbReplicaReadsTotal = once(
  'db_replica_reads_total',
  () => new Counter({ name: 'db_replica_reads_total', help: 'Queries served by each replica', labelNames: ['replica'] as const }),
);

export const socketActiveConnections = once(
  'socket_active_connections',
  () =>
    new Gauge({ name: 'socket_active_connections', help: 'Open Socket.IO connections on this process', labelNames: ['namespace'] as const }),
);

export const socketMessagesTotal = once(
  'socket_messages_total',
  () =>
    new Counter({
      name: 'socket_messages_total',
      help: 'Socket.IO events by namespace, event and direction (in|out)',
      labelNames: ['namespace', 'event', 'direction'] as const,
    }),
);

export const sseActiveClients = once(
  'sse_active_clients',
  () => new Gauge({ name: 'sse_active_clients', help: 'Open SSE streams on this process' }),
);

export const queueJobs = once(
  'queue_jobs',
  () => new Gauge({ name: 'queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'] as const }),
);

export const queueJobDuration = once(
  'queue_job_duration_seconds',
  () =>
    new Histogram({
      name: 'queue_job_duration_seconds',
      help: 'Job run time by queue, job name and outcome',
      labelNames: ['queue', 'name', 'status'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    }),
);

/** Laravel/Horizon's wait time: queued (or due, for delayed jobs) → first attempt started. */
export const queueJobWait = once(
  'queue_job_wait_seconds',
  () =>
    new Histogram({
      name: 'queue_job_wait_seconds',
      help: 'Time from queued (or due) to the first attempt starting, by queue',
      labelNames: ['queue'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900],
    }),
);

export const connectionCapacityRatio = once(
  'connection_capacity_ratio',
  () => new Gauge({ name: 'connection_capacity_ratio', help: 'Cluster-wide connections / MAX_CONCURRENT_CONNECTIONS' }),
);

export const socketHandshakesTotal = once(
  'socket_handshakes_total',
  () =>
    new Counter({
      name: 'socket_handshakes_total',
      help: 'New Socket.IO handshakes: admitted, or refused 429 + Retry-After because WS_MAX_PENDING_HANDSHAKES were in progress',
      labelNames: ['result'] as const,
    }),
);

export const socketHandshakesPending = once(
  'socket_handshakes_pending',
  () => new Gauge({ name: 'socket_handshakes_pending', help: 'Connections between their engine handshake and their first Socket.IO answer on this process' }),
);

export const realtimeShedTotal = once(
  'realtime_shed_total',
  () =>
    new Counter({
      name: 'realtime_shed_total',
      help: 'Slow consumers disconnected by the shedding policy (they resume from history), by transport',
      labelNames: ['transport'] as const,
    }),
);

export const realtimeChannelGapsTotal = once(
  'realtime_channel_gaps_total',
  () =>
    new Counter({
      name: 'realtime_channel_gaps_total',
      help: 'Events an api process did not get on the Redis channel: filled from the global stream, or lost',
      labelNames: ['result'] as const,
    }),
);

export const realtimeEpochChangesTotal = once(
  'realtime_epoch_changes_total',
  () => new Counter({ name: 'realtime_epoch_changes_total', help: 'New event-id epochs seen by this process (Redis failover or data loss): its clients resynced' }),
);

export const queueMonitorAlert = once(
  'queue_monitor_alert',
  () => new Gauge({ name: 'queue_monitor_alert', help: '1 when the last queue:monitor run found the queue over --max or --max-wait', labelNames: ['queue'] as const }),
);

export const libraryPatchActive = once(
  'library_patch_active',
  () =>
    new Gauge({
      name: 'library_patch_active',
      help: "1 while a patch of a library's internals is applied, 0 when its start-up check failed and the library's own path runs (core/patches)",
      labelNames: ['library', 'patch'] as const,
    }),
);

export const realtimeSlotsReconciledTotal = once(
  'realtime_slots_reconciled_total',
  () =>
    new Counter({
      name: 'realtime_slots_reconciled_total',
      help: 'Connection slots freed by the reconciliation because their connection had closed unseen (each one is a missed close), by transport',
      labelNames: ['transport'] as const,
    }),
);

/**
 * Seed 002's names. Its `user_id` and `room` labels would grow without bound
 * (one series per user or room), so these are labelled by namespace only.
 */
export const socketConnectionDuration = once(
  'socket_connection_duration_seconds',
  () =>
    new Histogram({
      name: 'socket_connection_duration_seconds',
      help: 'How long Socket.IO connections stayed open, observed when they close, by namespace',
      labelNames: ['namespace'] as const,
      buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    }),
);

export const socketMessagesSent = once(
  'socket_messages_sent_total',
  () => new Counter({ name: 'socket_messages_sent_total', help: 'Socket.IO events sent to clients, by namespace', labelNames: ['namespace'] as const }),
);

/**
 * Gauges read from shared state (Redis) when Prometheus scrapes, rather than set by the process
 * that changed it: job counts change in workers and alert states in short-lived commands, where
 * nothing scrapes. Each hook keeps its own short cache; a slow one is not waited for past 1 s.
 */
const scrapeHooks = new Set<() => Promise<void>>();
const SCRAPE_HOOK_TIMEOUT_MS = 1000;

export function onScrape(hook: () => Promise<void>): () => void {
  scrapeHooks.add(hook);
  return () => scrapeHooks.delete(hook);
}

export async function runScrapeHooks(): Promise<void> {
  await Promise.all(
    [...scrapeHooks].map((hook) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([hook().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, SCRAPE_HOOK_TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
    }),
  );
}
