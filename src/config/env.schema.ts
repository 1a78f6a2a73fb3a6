import { z } from 'zod';
import { invalidProxyEntries } from '../core/http/client-address';
import { parseBackoff } from '../core/queue/worker/backoff';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);
const port = int(1, 65535);
const bindAddress = z.string().regex(/^[A-Za-z0-9.:_-]{1,253}$/, 'must be an address to listen on (127.0.0.1, 0.0.0.0, ::)');
const hostList = z
  .string()
  .transform((s) => s.split(',').map((h) => h.trim()).filter(Boolean))
  .refine((l) => l.length > 0, 'must name at least one host')
  .refine((l) => l.every((h) => /^[A-Za-z0-9_.-]+(:\d{1,5})?$/.test(h)), 'must be host[:port] separated by commas');

const list = z.string().transform((s) => s.split(',').map((h) => h.trim()).filter(Boolean));

/**
 * Secrets that were ever public (in this repository's source, compose file or
 * manifests): production refuses them by name, since anyone can sign with them.
 */
export const PUBLIC_SECRETS = [
  'switchboard-development-session-secret',
  'switchboard-development-jwt-secret',
  'compose-session-secret-change-me',
  'compose-jwt-secret-change-me-too',
  'change-me-at-least-16-characters',
];

/**
 * Every variable the processes read. Defaults point at the local stack that
 * `npm run up` starts (scripts/stack.js, stack "dev").
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default('3000'),
  /** Behind nginx or a k8s Service only the proxy faces the network; containers set 0.0.0.0. */
  HOST: bindAddress.default('127.0.0.1'),
  INSTANCE_ID: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_DRAIN_MS: int(0, 600000).default('0'),
  /** Connections the kernel holds for the api before it accepts them (capped at net.core.somaxconn); Node's own default is 511. */
  HTTP_LISTEN_BACKLOG: int(1, 1048576).default('4096'),

  /** Unset: the local stack (127.0.0.1:13306). A host given without a port uses DB_PORT, as Laravel. */
  DB_WRITE_HOST: z.string().min(1).optional(),
  DB_WRITE_PORT: port.optional(),
  /** Laravel's DB_PORT: the port of every host given without one (default 3306). */
  DB_PORT: port.optional(),
  DB_READ_HOST: hostList.optional(),
  DB_DATABASE: z.string().min(1).default('switchboard'),
  DB_USERNAME: z.string().min(1).default('root'),
  DB_PASSWORD: z.string().default(''),
  DB_STICKY: bool.default('true'),
  DB_STICKY_WINDOW_MS: int(0, 3600000).default('2000'),
  DB_POOL_SIZE: int(1, 1000).default('10'),
  DB_CONNECT_TIMEOUT_MS: int(100, 60000).default('2000'),
  /** A replica further behind the primary than this leaves the read pool until it catches up (ProxySQL's max_replication_lag); 0 = only whether it answers counts. */
  DB_REPLICA_MAX_LAG_S: int(0, 86400).default('5'),

  REDIS_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url('must be a redis:// or rediss:// URL').optional()),
  // Laravel's names (seeds 001 and 002), used when REDIS_URL is not given; REDIS_PASSWORD=null means none.
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: port.optional(),
  REDIS_PASSWORD: z
    .string()
    .optional()
    .transform((v) => (v === 'null' || v === '' ? undefined : v)),
  REDIS_SENTINELS: hostList.optional(),
  REDIS_SENTINEL_NAME: z.string().default('mymaster'),
  REDIS_CLUSTER_NODES: hostList.optional(),
  REDIS_PREFIX: z.string().default('sb:'),

  SESSION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  SESSION_TTL_SECONDS: int(60).default('7200'),
  JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  JWT_TTL_SECONDS: int(60).default('3600'),
  CORS_ORIGIN: z.string().optional(),
  /** Seed 002's name for CORS_ORIGIN; CORS_ORIGIN wins when both are set. */
  ALLOWED_ORIGINS: z.string().optional(),
  BODY_LIMIT_BYTES: int(1024).default('1048576'),
  /**
   * Despite the name (kept: it is public), only login and register attempts per client address
   * (LoginThrottle). Other HTTP writes: WRITE_RATE_LIMIT_*; reads are not limited per address.
   */
  HTTP_RATE_LIMIT_POINTS: int(1).default('600'),
  HTTP_RATE_LIMIT_DURATION_S: int(1).default('60'),
  /** Laravel's ThrottlesLogins: attempts per email + client address, then 429 until the window ends. */
  LOGIN_THROTTLE_ATTEMPTS: int(1).default('5'),
  LOGIN_THROTTLE_DECAY_S: int(1).default('60'),
  /** Every authenticated write over HTTP, per user. */
  WRITE_RATE_LIMIT_POINTS: int(1).default('300'),
  WRITE_RATE_LIMIT_DURATION_S: int(1).default('60'),
  TRUSTED_PROXIES: list
    .default('loopback')
    .refine((l) => l.length > 0, 'must name at least one proxy, or none')
    .superRefine((l, ctx) => {
      const bad = invalidProxyEntries(l);
      if (bad.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be CIDRs, addresses, loopback, linklocal, uniquelocal or none (not ${bad.join(', ')})` });
    }),

  MAX_CONCURRENT_CONNECTIONS: int(1).default('3000'),
  MAX_CONNECTIONS_PER_IP: int(1).default('50'),
  WS_PING_INTERVAL_MS: int(1000).default('25000'),
  WS_PING_TIMEOUT_MS: int(1000).default('60000'),
  WS_CONNECT_TIMEOUT_MS: int(1000).default('45000'),
  WS_MAX_PENDING_HANDSHAKES: int(1).default('1024'),
  WS_MAX_BUFFER_BYTES: int(1024).default('1000000'),
  WS_COMPRESSION_THRESHOLD_BYTES: int(0).default('1024'),
  WS_RECOVERY_WINDOW_MS: int(0).default('120000'),
  AUTH_TIMEOUT_MS: int(100).default('5000'),
  MAX_ROOMS_PER_SOCKET: int(1).default('10'),
  SSE_KEEPALIVE_MS: int(100).default('30000'),
  SSE_HISTORY: int(1).default('1000'),
  /** Realtime event logs (docs/scaling/redis.md, "Sharded fan-out"): 1 keeps the one `{rt}` log and plain ids. */
  REALTIME_SHARDS: int(1, 64).default('1'),
  RATE_LIMIT_POINTS: int(1).default('60'),
  RATE_LIMIT_DURATION_S: int(1).default('60'),

  QUEUE_NAMES: z
    .string()
    .default('high,default')
    .transform((s) => s.split(',').map((q) => q.trim()).filter(Boolean))
    .refine((l) => l.length > 0 && l.every((q) => /^[a-z0-9_-]+$/i.test(q)), 'must be queue names separated by commas'),
  QUEUE_TRIES: int(1, 1000).default('3'),
  /** Seconds, as Laravel: one value (doubled per retry) or a list `1,5,10` (per retry, the last repeating). */
  QUEUE_BACKOFF: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseBackoff('', v);
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be seconds, one value or a list such as 1,5,10' });
      }
    }),
  /** Deprecated (milliseconds): read when QUEUE_BACKOFF is not set, with a warning; removed in the next release. */
  QUEUE_BACKOFF_MS: int(0).optional(),
  /**
   * Worker job lock; renewed at half of it, so a SIGKILLed worker's job is free again within it. Default 5 s
   * with one Redis, 15 s on Sentinel or a Cluster (app-config.ts says why).
   */
  QUEUE_LOCK_MS: int(1000, 600000).optional(),
  /** How often workers look for jobs whose lock expired (stalled) and put them back. */
  QUEUE_STALLED_INTERVAL_MS: int(500, 600000).default('3000'),
  /**
   * Replicas that must hold a dispatched job before the dispatch is acknowledged (Redis WAIT), so a
   * failover cannot lose it; besides these, every replica seen online recently is waited for.
   * Default: 1 with REDIS_SENTINELS or REDIS_CLUSTER_NODES, 0 with one Redis.
   */
  QUEUE_DISPATCH_MIN_REPLICAS: int(0, 16).optional(),
  /** How long a dispatch waits for those replicas before it fails with 503; 0 turns the wait off. */
  QUEUE_DISPATCH_WAIT_MS: int(0, 2500).default('1000'),
  /** How long one analysis station works (the demo long job of SPEC §4). */
  ANALYSIS_STATION_MS: int(0, 600000).default('500'),
  /** Analyses one user may have waiting or running at once, so nobody can fill a queue and starve the others. */
  MAX_ACTIVE_ANALYSES_PER_USER: int(1, 100000).default('5'),
  METRICS_PORT: port.optional(),
  METRICS_HOST: bindAddress.default('127.0.0.1'),
  /**
   * Which jobs announce job:started|progress|completed|failed (to the job's room, its queue's room and its
   * owner's room): `heard` (every job with an owner; one without, only while someone listens to its queue's
   * room or job rooms, or may still recover one: core/realtime/room-hearing.ts), `all` (every job, heard or
   * not), `owned` (only jobs dispatched for a user), `none`. Each announcement is a history append in Redis:
   * for very short jobs they cost more Redis time than the job itself (bench/queues). system:error to admins
   * for a job that failed for good is sent in every mode.
   */
  QUEUE_JOB_EVENTS: z.enum(['heard', 'all', 'owned', 'none'], { message: 'must be heard, all, owned or none' }).default('heard'),
  /** queue:monitor alerts are also POSTed here (Slack-compatible JSON). */
  QUEUE_MONITOR_WEBHOOK_URL: z.string().url('must be an http(s) URL').optional(),
  /** Days a notification is kept: the scheduler's daily notifications:prune deletes older ones. */
  NOTIFICATIONS_RETENTION_DAYS: int(1, 36500).default('90'),

  AI_PROVIDERS: z
    .string()
    .default('local')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .refine(
      (l) => l.length > 0 && l.every((p) => p === 'local' || /^openai-compatible:https?:\/\/\S+$/.test(p)),
      'must list providers: local, openai-compatible:<http(s) url>',
    ),
  AI_API_KEY: z.string().optional(),
  AI_MODEL: z.string().default('gpt-4o-mini'),
  AI_CACHE_TTL_S: int(1).default('3600'),
  AI_CACHE_ENABLED: bool.default('true'),
  AI_CACHE_SCOPE: z.enum(['global', 'user'], { message: 'must be global or user' }).default('global'),
  AI_CONCURRENCY: int(1, 1000).default('10'),
  AI_BATCH_WINDOW_MS: int(0, 10000).default('20'),
  AI_TIMEOUT_MS: int(100).default('15000'),
  AI_BREAKER_FAILURES: int(1, 1000).default('1'),
  AI_BREAKER_COOLDOWN_MS: int(100).default('10000'),
  AI_BATCH_MAX_SIZE: int(1, 1000).default('16'),
  AI_LOCAL_LATENCY_MS: int(0, 600000).default('0'),
});

export type Env = z.infer<typeof envSchema>;

/** One line per problem, naming the variable: the process stops with it. */
export class ConfigError extends Error {}

export function parseEnv(source: Record<string, string | undefined>): Env {
  // An empty string means "not set" for everything except passwords.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) {
    if (v === undefined) continue;
    if (v === '' && k !== 'DB_PASSWORD') continue;
    cleaned[k] = v;
  }
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    // The rejected value is never echoed: it may be a secret, a password or a URL carrying one.
    throw new ConfigError(`Invalid configuration: ${issue.path.join('.')} ${issue.message}`);
  }
  const env = result.data;
  if (env.NODE_ENV === 'production') {
    for (const name of ['SESSION_SECRET', 'JWT_SECRET'] as const) {
      const secret = env[name];
      if (!secret) throw new ConfigError(`Invalid configuration: ${name} is required in production`);
      if (PUBLIC_SECRETS.includes(secret)) {
        throw new ConfigError(`Invalid configuration: ${name} is a published example value; generate one (openssl rand -hex 32)`);
      }
    }
  }
  return env;
}
