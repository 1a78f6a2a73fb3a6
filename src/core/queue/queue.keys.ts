import type { AppConfig } from '../../config/app-config';

/**
 * BullMQ's key prefix: our Redis prefix + "{bull}" (keys look like `sb:{bull}:high:wait`). The hash tag
 * puts every queue key in one Redis Cluster slot, which BullMQ's multi-key scripts need.
 */
export const bullPrefix = (config: AppConfig) => `${config.redis.prefix}{bull}`;

/**
 * Who owns a job (`<prefix>job-owner:<queue>:<id>` → user id): one definition,
 * in core/realtime, which reads it to authorise `job:<queue>:<id>`; the queue
 * registry writes it on dispatch.
 */
export { JOB_OWNER_TTL_S, jobOwnerKey, readJobOwner, recordJobOwner } from '../realtime/job-owner';

/** Laravel's `illuminate:queue:restart`: a timestamp every worker watches; a newer one makes it finish and exit. */
export const restartKey = (redisPrefix: string) => `${redisPrefix}queue:restart`;

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
