import { Injectable } from '@nestjs/common';
import { ForbiddenError, NotFoundError } from '../../core/errors/domain-error';
import { jobOwner } from '../../core/queue/queue.keys';
import { QueueRegistry } from '../../core/queue/queue-registry';
import type { Principal } from '../../core/session/principal';

export interface JobView {
  id: string;
  queue: string;
  name: string;
  state: string;
  progress: number | object;
  attempts: number;
  failedReason: string | null;
  processedOn: string | null;
  finishedOn: string | null;
}

const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : null);

/** GET /api/jobs/:queue/:id: the job's owner (jobOwner: recorded at dispatch, agreeing with the payload) or an admin. */
@Injectable()
export class JobsService {
  constructor(private readonly queues: QueueRegistry) {}

  async get(me: Principal, queueName: string, id: string): Promise<JobView> {
    if (!this.queues.has(queueName) || !/^[\w-]{1,64}$/.test(id)) throw new NotFoundError('Job');
    const job = await this.queues.get(queueName).getJob(id);
    if (!job) throw new NotFoundError('Job');
    const owner = jobOwner(await this.queues.ownerOf(queueName, id), job.data);
    if (me.role !== 'admin' && owner !== me.id) throw new ForbiddenError('Only the job owner or an admin can see this job');
    return {
      id: String(job.id),
      queue: queueName,
      name: job.name,
      state: await job.getState(),
      progress: job.progress as number | object,
      attempts: job.attemptsMade,
      failedReason: job.failedReason || null,
      processedOn: iso(job.processedOn),
      finishedOn: iso(job.finishedOn),
    };
  }
}
