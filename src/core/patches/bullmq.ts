import { Job, Worker } from 'bullmq';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * BullMQ internals that queue:work relies on (core/queue/worker).
 *
 * 1. `Worker.nextJobFromJobData(jobData, jobId, token)` (protected): turns the next job's raw data,
 *    which `job.moveToCompleted(result, token, fetchNext=true)` returns, into a Job exactly as
 *    Worker's own loop does (it also re-schedules job schedulers and repeatable jobs, which the
 *    documented `Job.fromJSON` of the manual-processing guide does not). Finishing a job and taking
 *    the next one in one round trip saves a Redis call per job while a queue has work. Required:
 *    without it queue:work refuses to start.
 * 2. The marker key `<prefix>:<queue>:marker`: a sorted set BullMQ adds to whenever a job becomes
 *    ready. Idle workers block on it (BZPOPMIN) instead of polling, so a job added to an idle queue
 *    starts within a round trip, and strict priority sees a new high job at once. Optional: when
 *    the key has another type, workers poll every --sleep seconds instead (slower wake-ups only).
 *
 * To remove: replace FetchingWorker.adopt with `Job.fromJSON(worker, jobData, jobId)` plus a scheduler
 * upsert, and the marker watcher with QueueEvents 'waiting' (one stream read per event).
 */
export const BULLMQ_WRITTEN_FOR = '5.x (tested with 5.81)';

interface AdoptingProto {
  nextJobFromJobData?: (jobData?: unknown, jobId?: string, token?: string) => Promise<Job | undefined>;
}

export function checkNextJobFromJobData(proto: AdoptingProto = Worker.prototype as unknown as AdoptingProto): PatchCheck {
  const installed = installedVersion('bullmq');
  const fn = proto.nextJobFromJobData;
  const ok = typeof fn === 'function' && fn.length === 3;
  return {
    library: 'bullmq',
    patch: 'Worker.nextJobFromJobData',
    writtenFor: BULLMQ_WRITTEN_FOR,
    installed,
    ok,
    reason: ok ? undefined : typeof fn === 'function' ? `takes ${fn.length} arguments, not 3` : 'the method is gone',
  };
}

/**
 * A BullMQ Worker that never runs its own loop: queue:work fetches from it (`getNextJob` without
 * blocking, public) and finishes jobs itself; `adopt` is the one protected call (see above).
 */
export class FetchingWorker extends Worker {
  async adopt(raw: unknown, token: string): Promise<Job | undefined> {
    const [jobData, jobId] = (Array.isArray(raw) ? raw : []) as [Parameters<Worker['createJob']>[0] | undefined, string | undefined];
    if (!jobData || !jobId) return undefined;
    return this.nextJobFromJobData(jobData, jobId, token);
  }
}

export const markerKey = (bullPrefix: string, queue: string) => `${bullPrefix}:${queue}:marker`;

/** The marker key's Redis type as BullMQ 5 leaves it: a sorted set, or no key while nothing is ready. */
export function checkMarkerKeyType(type: string): PatchCheck {
  const installed = installedVersion('bullmq');
  const major = Number(installed.split('.')[0]);
  const typeOk = type === 'zset' || type === 'none';
  const ok = typeOk && major === 5;
  return {
    library: 'bullmq',
    patch: 'marker key',
    writtenFor: BULLMQ_WRITTEN_FOR,
    installed,
    ok,
    reason: ok ? undefined : !typeOk ? `the marker key is a ${type}, not a sorted set` : `major version ${major} is not 5`,
  };
}
