import type { RedisClient } from '../redis/redis.factory';

/**
 * Who owns a job, for `job:<queue>:<id>` (queue-rooms.ts) and GET /api/jobs:
 * QueueRegistry records the owner when it adds a job with `ownerId`.
 * Key: `<prefix>job-owner:<queue>:<id>` = user id, kept 7 days.
 */
export const JOB_OWNER_TTL_S = 7 * 24 * 3600;

export function jobOwnerKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}job-owner:${queue}:${jobId}`;
}

export async function recordJobOwner(redis: RedisClient, prefix: string, queue: string, jobId: string, userId: number): Promise<void> {
  await redis.set(jobOwnerKey(prefix, queue, jobId), String(userId), 'EX', JOB_OWNER_TTL_S);
}

export async function readJobOwner(redis: RedisClient, prefix: string, queue: string, jobId: string): Promise<number | null> {
  const v = await redis.get(jobOwnerKey(prefix, queue, jobId));
  return v === null ? null : Number(v);
}

/**
 * The owner a job's payload names (`userId`: a positive integer, or its decimal digits, as job:*
 * events read it to reach `user:<id>`), or undefined.
 */
export function payloadOwner(data: unknown): number | undefined {
  const owner = (data as { userId?: unknown } | null | undefined)?.userId;
  const id = typeof owner === 'string' && /^[1-9][0-9]{0,9}$/.test(owner) ? Number(owner) : owner;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/**
 * Who owns a job, for its room and GET /api/jobs: the user recorded at dispatch and the user its
 * payload names, which must not disagree. Either alone is the owner (the record expires after
 * JOB_OWNER_TTL_S while a failed job stays; a job added without `ownerId` has only its payload).
 * When both exist and differ, the record is not about this job — an id BullMQ handed out again (its
 * per-queue counter went back: the queue was obliterated, or a failover lost the counter's last
 * increments but not the record, which on a Redis Cluster lives on another shard), or a deduplicated
 * or same-id dispatch that recorded its own caller over the job's owner — and only admins may see
 * it: a user must never reach another user's job.
 */
export function jobOwner(recorded: number | undefined, data: unknown): number | undefined {
  const named = payloadOwner(data);
  if (recorded !== undefined && named !== undefined && recorded !== named) return undefined;
  return recorded ?? named;
}
