import type { AppConfig } from '../../config/app-config';
import { BadRequestError } from '../errors/domain-error';

/**
 * BullMQ's key prefix: our Redis prefix + "{bull}" (keys look like `sb:{bull}:high:wait`). The hash tag
 * puts every queue key in one Redis Cluster slot, which BullMQ's multi-key scripts need.
 */
export const bullPrefix = (config: AppConfig) => `${config.redis.prefix}{bull}`;

/**
 * Who owns a job (`<prefix>job-owner:<queue>:<id>` → user id): the queue
 * registry writes it on dispatch; the `job:` room kind (queue-rooms.ts) and
 * GET /api/jobs read it back.
 */
export { JOB_OWNER_TTL_S, jobOwner, jobOwnerKey, payloadOwner, readJobOwner, recordJobOwner } from './job-owner';

/** Laravel's `illuminate:queue:restart`: a timestamp every worker watches; a newer one makes it finish and exit. */
export const restartKey = (redisPrefix: string) => `${redisPrefix}queue:restart`;

/** Maintenance mode (bin/switchboard down): JSON {retry, refresh, secret, since}; absent when up. */
export const maintenanceKey = (redisPrefix: string) => `${redisPrefix}maintenance`;

/** What a queue may be called (BullMQ refuses ":" in names; our Redis keys are built from it). */
export const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The only queue connection there is; Laravel operators write `redis:default`. */
const CONNECTION = 'redis';

/** `default` or Laravel's `redis:default` → `default`; bad_request for anything else. */
export function parseQueueName(raw: string): string {
  const ref = raw.trim();
  const i = ref.indexOf(':');
  const connection = i >= 0 ? ref.slice(0, i) : CONNECTION;
  const name = i >= 0 ? ref.slice(i + 1) : ref;
  if (connection !== CONNECTION) throw new BadRequestError(`Unknown queue connection "${connection.slice(0, 40)}" (the only one is "${CONNECTION}")`);
  if (!QUEUE_NAME.test(name)) throw new BadRequestError(`"${ref.slice(0, 80)}" is not a queue name (letters, digits, _ and -, at most 64)`);
  return name;
}

/** Hash queue → "1"|"0": the last queue:monitor verdict, for the api's /metrics (queue_monitor_alert). */
export const monitorAlertsKey = (redisPrefix: string) => `${redisPrefix}queue:monitor:alerts`;

/** Redis hash per live worker (queue:status); refreshed every few seconds, gone when the worker stops or dies. */
export const workerKey = (redisPrefix: string, id: string) => `${redisPrefix}workers:${id}`;
/** Sorted set of worker ids by last heartbeat (ms), so queue:status finds them without SCAN. */
export const workersIndexKey = (redisPrefix: string) => `${redisPrefix}workers`;

/** `high:42` as printed by queue:failed; a plain id when the queue is given separately. */
export interface QualifiedJobId {
  queue?: string;
  id: string;
}

export function parseJobRef(ref: string): QualifiedJobId {
  const i = ref.lastIndexOf(':');
  return i > 0 ? { queue: ref.slice(0, i), id: ref.slice(i + 1) } : { id: ref };
}

export const formatJobRef = (queue: string, id: string) => `${queue}:${id}`;
