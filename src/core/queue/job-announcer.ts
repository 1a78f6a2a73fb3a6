import type { Job } from 'bullmq';
import { jobRoom, queueRoom, RealtimeService, userRoom } from '../realtime/realtime.contract';
import type { HeardRooms } from '../realtime/room-hearing';
import { payloadOwner } from './job-owner';

/** The seeds' JobProgressPayload (eventType and timestamp are added by RealtimeService). */
export interface JobProgressPayload {
  jobId: string;
  queueName: string;
  progress: number;
  status: 'active' | 'waiting' | 'completed' | 'failed';
  message?: string;
  currentStep?: string;
  totalSteps?: number;
  attempt?: number;
  /** Seed 003's client reads these: job:started has jobName, job:completed result and duration, job:failed error and attempts. */
  jobName?: string;
  userId?: number;
  result?: unknown;
  /** Milliseconds from dispatch to completion (`Date.now() - job.timestamp`, as the seed computes it). */
  duration?: number;
  error?: string;
  attemptsMade?: number;
  attemptsMax?: number;
}

/**
 * job:started|progress|completed|failed to `job:<queue>:<id>`, to the queue's `queue:<name>` (admins
 * watching a queue) and to the owner's `user:<id>` (`job.data.userId`). Which jobs (QUEUE_JOB_EVENTS):
 * `heard` (default) every job with an owner, and a job without one while its queue is heard (someone
 * listens to the queue's room or one of its job rooms, or may still recover one: room-hearing.ts), for
 * nobody else may listen to it; `all` every job; `owned` jobs with an owner; `none` no job.
 */
export class JobAnnouncer {
  constructor(
    private readonly realtime: RealtimeService,
    private readonly mode: 'heard' | 'all' | 'owned' | 'none' = 'heard',
    /** With `heard`: whether a queue's room is heard now. Without it every job is announced. */
    private readonly heard?: HeardRooms,
  ) {}

  /**
   * Whether this job's next event is sent at all (QUEUE_JOB_EVENTS): the worker skips building those that
   * are not. Asked per event: a queue heard from now on gets the events of jobs already running.
   */
  announces(queue: string, job: Job): boolean {
    switch (this.mode) {
      case 'all':
        return true;
      case 'none':
        return false;
      case 'owned':
        return payloadOwner(job.data) !== undefined;
      default:
        return payloadOwner(job.data) !== undefined || !this.heard || this.heard.isHeard(queueRoom(queue));
    }
  }

  started(queue: string, job: Job): Promise<unknown> {
    return this.send(queue, job, 'job:started', { progress: progressOf(job), status: 'active', attempt: job.attemptsMade + 1, jobName: job.name });
  }

  progress(queue: string, job: Job, progress: number, extra: Partial<JobProgressPayload> = {}): Promise<unknown> {
    return this.send(queue, job, 'job:progress', { ...extra, progress, status: 'active' });
  }

  completed(queue: string, job: Job, result?: unknown): Promise<unknown> {
    return this.send(queue, job, 'job:completed', { progress: 100, status: 'completed', jobName: job.name, result: result ?? null, duration: Date.now() - job.timestamp });
  }

  /** Sent once the job has failed for good; attemptsMade counts the attempt that just failed. */
  failed(queue: string, job: Job, err: Error): Promise<unknown> {
    return this.send(queue, job, 'job:failed', {
      progress: progressOf(job),
      status: 'failed',
      message: err.message,
      jobName: job.name,
      error: err.message,
      attemptsMade: job.attemptsMade,
      attemptsMax: job.opts.attempts ?? 1,
    });
  }

  /**
   * `system:error` to admins when any job fails for good, announced or not:
   * a failed job needs an operator (queue:retry or queue:forget).
   */
  async failedForGood(queue: string, job: Job, err: Error): Promise<void> {
    await this.realtime.toAdmins('system:error', {
      code: 'job_failed',
      level: 'error',
      message: `Job ${job.name} (${queue}:${String(job.id)}) failed after ${job.attemptsMade} attempt(s): ${err.message}`,
      queueName: queue,
      jobId: String(job.id),
      jobName: job.name,
      error: err.message,
      attemptsMade: job.attemptsMade,
    });
  }

  /**
   * Not async: the event's own promise is returned (two events per job; an async wrapper cost a promise and a
   * microtask more each). A synchronous throw still comes back as a rejection, never into the caller's job.
   */
  private send(queue: string, job: Job, event: string, fields: Omit<JobProgressPayload, 'jobId' | 'queueName'>): Promise<unknown> {
    if (!this.announces(queue, job)) return NOTHING_SENT;
    // Ids are numbers on the wire (docs/seeds.md); a job dispatched with a numeric string owner is read as one.
    const owner = payloadOwner(job.data);
    const jobId = String(job.id);
    // Object.assign over a literal, not spreads: two payloads per job, and the spreads cost ~1 KB of garbage each (bench/queues).
    const payload: JobProgressPayload = Object.assign(owner === undefined ? { jobId, queueName: queue } : { jobId, queueName: queue, userId: owner }, fields);
    const rooms = owner === undefined ? [jobRoom(queue, jobId), queueRoom(queue)] : [jobRoom(queue, jobId), queueRoom(queue), userRoom(owner)];
    try {
      return this.realtime.toRooms(rooms, event, payload);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

const NOTHING_SENT: Promise<unknown> = Promise.resolve();

function progressOf(job: Job): number {
  return typeof job.progress === 'number' ? job.progress : 0;
}
