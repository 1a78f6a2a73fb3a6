import type { Job } from 'bullmq';
import { jobRoom, queueRoom, RealtimeService, userRoom } from '../realtime/realtime.contract';

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
}

/**
 * job:started|progress|completed|failed for every job, to `job:<queue>:<id>`, to the queue's
 * `queue:<name>` (admins watching a queue) and to the owner's `user:<id>` (`job.data.userId`).
 */
export class JobAnnouncer {
  constructor(private readonly realtime: RealtimeService) {}

  started(queue: string, job: Job): Promise<void> {
    return this.send(queue, job, 'job:started', { progress: progressOf(job), status: 'active', attempt: job.attemptsMade + 1 });
  }

  progress(queue: string, job: Job, progress: number, extra: Partial<JobProgressPayload> = {}): Promise<void> {
    return this.send(queue, job, 'job:progress', { ...extra, progress, status: 'active' });
  }

  completed(queue: string, job: Job): Promise<void> {
    return this.send(queue, job, 'job:completed', { progress: 100, status: 'completed' });
  }

  failed(queue: string, job: Job, err: Error): Promise<void> {
    return this.send(queue, job, 'job:failed', { progress: progressOf(job), status: 'failed', message: err.message });
  }

  private async send(queue: string, job: Job, event: string, fields: Omit<JobProgressPayload, 'jobId' | 'queueName'>): Promise<void> {
    const payload: JobProgressPayload = { jobId: String(job.id), queueName: queue, ...fields };
    const owner = (job.data as { userId?: unknown })?.userId;
    const rooms = [jobRoom(queue, String(job.id)), queueRoom(queue)];
    if (typeof owner === 'number' || typeof owner === 'string') rooms.push(userRoom(owner));
    await this.realtime.toRooms(rooms, event, payload);
  }
}

function progressOf(job: Job): number {
  return typeof job.progress === 'number' ? job.progress : 0;
}
