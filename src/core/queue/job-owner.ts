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
