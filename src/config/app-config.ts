import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TrustedProxies } from '../core/http/client-address';
import { withDotEnv } from './dot-env';
import { parseBackoff } from '../core/queue/worker/backoff';
import { Env, parseEnv } from './env.schema';

export interface DbHost {
  host: string;
  port: number;
}

/**
 * The typed configuration, grouped by concern. Built once per process from
 * the environment; everything else receives it through DI (`AppConfig`).
 */
/** Where `npm run up`'s own stack listens (scripts/stack.js, stack "dev"): the defaults when nothing is configured. */
const LOCAL_STACK_DB_PORT = 13306;
const LOCAL_STACK_REDIS_URL = 'redis://127.0.0.1:16379';

export class AppConfig {
  readonly env: Env['NODE_ENV'];
  /** Settings read under an old name: one line each on stderr at start-up (src/app/process.ts). */
  readonly deprecations: string[] = [];
  readonly instanceId: string;
  readonly http: {
    port: number;
    host: string;
    corsOrigins: string[];
    bodyLimitBytes: number;
    /** HTTP_RATE_LIMIT_*: login and register attempts per client address (the only HTTP limit per address). */
    authAttemptsPerAddress: number;
    authAttemptsWindowS: number;
    shutdownDrainMs: number;
    /** listen(2) backlog of the api's HTTP server (HTTP_LISTEN_BACKLOG). */
    listenBacklog: number;
    trustedProxies: TrustedProxies;
    loginThrottleAttempts: number;
    loginThrottleDecayS: number;
    writeRateLimitPoints: number;
    writeRateLimitDurationS: number;
  };
  readonly log: { level: Env['LOG_LEVEL'] };
  readonly db: {
    write: DbHost;
    read: DbHost[];
    database: string;
    username: string;
    password: string;
    sticky: boolean;
    stickyWindowMs: number;
    poolSize: number;
    connectTimeoutMs: number;
    /** DB_REPLICA_MAX_LAG_S: a replica further behind leaves the read pool (0: lag not checked). */
    replicaMaxLagS: number;
  };
  readonly redis: {
    url: string;
    password?: string;
    sentinels?: DbHost[];
    sentinelName: string;
    clusterNodes?: DbHost[];
    prefix: string;
  };
  readonly auth: {
    sessionSecret: string;
    sessionTtlSeconds: number;
    jwtSecret: string;
    jwtTtlSeconds: number;
    /** Secrets this process made up because none was given (outside production): valid for this process only. */
    generatedSecrets: string[];
  };
  readonly realtime: {
    maxConnections: number;
    maxConnectionsPerIp: number;
    pingIntervalMs: number;
    pingTimeoutMs: number;
    connectTimeoutMs: number;
    /** Per process: connections being admitted at once; more handshakes get 429 + Retry-After (HandshakeAdmission). */
    maxPendingHandshakes: number;
    maxBufferBytes: number;
    compressionThresholdBytes: number;
    recoveryWindowMs: number;
    authTimeoutMs: number;
    maxRoomsPerSocket: number;
    sseKeepaliveMs: number;
    sseHistory: number;
    /** REALTIME_SHARDS: event logs, each its own slot, counter, epoch and SPUBLISH channel (more than one: ids are `<id0>.<id1>…`). */
    shards: number;
    rateLimitPoints: number;
    rateLimitDurationS: number;
  };
  readonly queue: {
    names: string[];
    tries: number;
    /** Seconds: one value (doubled per retry) or one per retry (core/queue/worker/backoff.ts). */
    backoff: number[];
    lockMs: number;
    stalledIntervalMs: number;
    analysisStationMs: number;
    maxActiveAnalysesPerUser: number;
    /** Redis replicas that must confirm a dispatch (WAIT) at least, and how long to wait (0: no wait). */
    dispatchMinReplicas: number;
    dispatchWaitMs: number;
    metricsPort?: number;
    metricsHost: string;
    monitorWebhookUrl?: string;
    /** QUEUE_JOB_EVENTS: which jobs announce job:* events. */
    jobEvents: 'heard' | 'all' | 'owned' | 'none';
  };
  readonly notifications: {
    /** notifications:prune (scheduled daily) deletes notifications older than this. */
    retentionDays: number;
  };
  readonly ai: {
    providers: string[];
    apiKey?: string;
    model: string;
    cacheTtlS: number;
    /** Off only to measure what the cache buys (bench/ai); coalescing still applies. */
    cacheEnabled: boolean;
    /** global: one cache for everyone (hit counts shown to admins only); user: one cache per user. */
    cacheScope: Env['AI_CACHE_SCOPE'];
    concurrency: number;
    batchWindowMs: number;
    batchMaxSize: number;
    timeoutMs: number;
    /** Consecutive failures that open a provider's circuit, and how long it then stays open. */
    breakerFailures: number;
    breakerCooldownMs: number;
    /** Simulated model latency of the `local` provider (per call; a batch is one call). */
    localLatencyMs: number;
  };

  constructor(e: Env) {
    const parseHost = (h: string, defaultPort: number): DbHost => {
      const [host, p] = h.split(':');
      return { host, port: p ? Number(p) : defaultPort };
    };
    this.env = e.NODE_ENV;
    if (e.QUEUE_BACKOFF_MS !== undefined && e.QUEUE_BACKOFF === undefined) {
      this.deprecations.push(`QUEUE_BACKOFF_MS is deprecated and will be removed in the next release: set QUEUE_BACKOFF=${e.QUEUE_BACKOFF_MS / 1000} (seconds, as Laravel)`);
    }
    this.instanceId = e.INSTANCE_ID ?? `${hostname()}:${e.PORT}:${process.pid}`;
    this.http = {
      port: e.PORT,
      host: e.HOST,
      corsOrigins: (e.CORS_ORIGIN || e.ALLOWED_ORIGINS || 'http://localhost:3000').split(',').map((o) => o.trim()).filter(Boolean),
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      authAttemptsPerAddress: e.HTTP_RATE_LIMIT_POINTS,
      authAttemptsWindowS: e.HTTP_RATE_LIMIT_DURATION_S,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
      listenBacklog: e.HTTP_LISTEN_BACKLOG,
      trustedProxies: new TrustedProxies(e.TRUSTED_PROXIES),
      loginThrottleAttempts: e.LOGIN_THROTTLE_ATTEMPTS,
      loginThrottleDecayS: e.LOGIN_THROTTLE_DECAY_S,
      writeRateLimitPoints: e.WRITE_RATE_LIMIT_POINTS,
      writeRateLimitDurationS: e.WRITE_RATE_LIMIT_DURATION_S,
    };
    this.log = { level: e.LOG_LEVEL };
    // Laravel's reading: a host without a port is on DB_PORT (3306). Only with no host at all is it the local stack.
    const write = e.DB_WRITE_HOST
      ? parseHost(e.DB_WRITE_HOST, e.DB_WRITE_PORT ?? e.DB_PORT ?? 3306)
      : { host: '127.0.0.1', port: e.DB_WRITE_PORT ?? LOCAL_STACK_DB_PORT };
    this.db = {
      write,
      // SPEC §3: a replica given without a port is on DB_PORT (3306), as in Laravel, whatever the write port.
      read: e.DB_READ_HOST ? e.DB_READ_HOST.map((h) => parseHost(h, e.DB_PORT ?? 3306)) : [write],
      database: e.DB_DATABASE,
      username: e.DB_USERNAME,
      password: e.DB_PASSWORD,
      sticky: e.DB_STICKY,
      stickyWindowMs: e.DB_STICKY_WINDOW_MS,
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      replicaMaxLagS: e.DB_REPLICA_MAX_LAG_S,
    };
    this.redis = {
      url: e.REDIS_URL ?? (e.REDIS_HOST ? `redis://${e.REDIS_HOST}:${e.REDIS_PORT ?? 6379}` : LOCAL_STACK_REDIS_URL),
      password: e.REDIS_PASSWORD,
      sentinels: e.REDIS_SENTINELS?.map((h) => parseHost(h, 26379)),
      sentinelName: e.REDIS_SENTINEL_NAME,
      clusterNodes: e.REDIS_CLUSTER_NODES?.map((h) => parseHost(h, 6379)),
      prefix: e.REDIS_PREFIX,
    };
    // No secret is ever a published one: npm run up and npm test hand every process the stack's own
    // (.stack/secrets.json); a process started by hand outside production makes up its own, which
    // only it accepts (production refuses to start without them, env.schema.ts).
    const generatedSecrets: string[] = [];
    const secret = (given: string | undefined, name: string) => {
      if (given) return given;
      generatedSecrets.push(name);
      return randomBytes(32).toString('hex');
    };
    this.auth = {
      sessionSecret: secret(e.SESSION_SECRET, 'SESSION_SECRET'),
      sessionTtlSeconds: e.SESSION_TTL_SECONDS,
      jwtSecret: secret(e.JWT_SECRET, 'JWT_SECRET'),
      jwtTtlSeconds: e.JWT_TTL_SECONDS,
      generatedSecrets,
    };
    this.realtime = {
      maxConnections: e.MAX_CONCURRENT_CONNECTIONS,
      maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
      pingIntervalMs: e.WS_PING_INTERVAL_MS,
      pingTimeoutMs: e.WS_PING_TIMEOUT_MS,
      connectTimeoutMs: e.WS_CONNECT_TIMEOUT_MS,
      maxPendingHandshakes: e.WS_MAX_PENDING_HANDSHAKES,
      maxBufferBytes: e.WS_MAX_BUFFER_BYTES,
      compressionThresholdBytes: e.WS_COMPRESSION_THRESHOLD_BYTES,
      recoveryWindowMs: e.WS_RECOVERY_WINDOW_MS,
      authTimeoutMs: e.AUTH_TIMEOUT_MS,
      maxRoomsPerSocket: e.MAX_ROOMS_PER_SOCKET,
      sseKeepaliveMs: e.SSE_KEEPALIVE_MS,
      sseHistory: e.SSE_HISTORY,
      shards: e.REALTIME_SHARDS,
      rateLimitPoints: e.RATE_LIMIT_POINTS,
      rateLimitDurationS: e.RATE_LIMIT_DURATION_S,
    };
    this.queue = {
      names: e.QUEUE_NAMES,
      tries: e.QUEUE_TRIES,
      backoff: e.QUEUE_BACKOFF !== undefined ? [...parseBackoff('QUEUE_BACKOFF', e.QUEUE_BACKOFF)] : e.QUEUE_BACKOFF_MS !== undefined ? [e.QUEUE_BACKOFF_MS / 1000] : [2],
      // A failover loses the renewals only the old primary held and takes ~3 s: with a 5 s lock renewed every
      // 2.5 s, the promoted replica's copy of the lock had expired and a running job was started a second
      // time (Cluster kill drill, drills/RESULTS.md). 15 s outlives a renewal interval plus a failover.
      lockMs: e.QUEUE_LOCK_MS ?? (e.REDIS_SENTINELS?.length || e.REDIS_CLUSTER_NODES?.length ? 15000 : 5000),
      stalledIntervalMs: e.QUEUE_STALLED_INTERVAL_MS,
      analysisStationMs: e.ANALYSIS_STATION_MS,
      maxActiveAnalysesPerUser: e.MAX_ACTIVE_ANALYSES_PER_USER,
      // Replicas seen online are always waited for; the minimum only matters when a primary has none.
      // Sentinel (two replicas): a promoted primary gets the other replica within seconds, so 1 costs
      // nothing and refuses writes to a primary that lost both. Cluster (one replica per master): after a
      // master dies its promoted replica has none until the dead node is back, and a minimum of 1 refused
      // every dispatch for that long (11.7-12.1 s in the Cluster kill drill against a 5 s target); a
      // master's writes then stand on it alone, as Redis Cluster's own writes do (warned in the log).
      dispatchMinReplicas: e.QUEUE_DISPATCH_MIN_REPLICAS ?? (e.REDIS_SENTINELS?.length ? 1 : 0),
      dispatchWaitMs: e.QUEUE_DISPATCH_WAIT_MS,
      metricsPort: e.METRICS_PORT,
      metricsHost: e.METRICS_HOST,
      monitorWebhookUrl: e.QUEUE_MONITOR_WEBHOOK_URL,
      jobEvents: e.QUEUE_JOB_EVENTS,
    };
    this.notifications = { retentionDays: e.NOTIFICATIONS_RETENTION_DAYS };
    this.ai = {
      providers: e.AI_PROVIDERS,
      apiKey: e.AI_API_KEY,
      model: e.AI_MODEL,
      cacheTtlS: e.AI_CACHE_TTL_S,
      cacheEnabled: e.AI_CACHE_ENABLED,
      cacheScope: e.AI_CACHE_SCOPE,
      concurrency: e.AI_CONCURRENCY,
      batchWindowMs: e.AI_BATCH_WINDOW_MS,
      batchMaxSize: e.AI_BATCH_MAX_SIZE,
      timeoutMs: e.AI_TIMEOUT_MS,
      breakerFailures: e.AI_BREAKER_FAILURES,
      breakerCooldownMs: e.AI_BREAKER_COOLDOWN_MS,
      localLatencyMs: e.AI_LOCAL_LATENCY_MS,
    };
  }

  get isProduction(): boolean {
    return this.env === 'production';
  }

  /** The only place the process environment (and the `.env` file of the working directory) is read. */
  static fromProcessEnv(): AppConfig {
    return new AppConfig(parseEnv(withDotEnv(process.env, process.cwd())));
  }
}
