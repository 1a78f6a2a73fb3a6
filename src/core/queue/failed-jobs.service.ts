import { Injectable } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { BadRequestError, NotFoundError } from '../errors/domain-error';
import { formatJobRef, parseJobRef } from './queue.keys';
import { QueueRegistry } from './queue-registry';

export interface FailedJobView {
  /** `<queue>:<id>`, accepted back by queue:retry / queue:forget. */
  id: string;
  queue: string;
  name: string;
  failedAt: string | null;
  attempts: number;
  reason: string;
}

export interface IdRange {
  from: number;
  to: number;
}

export function parseRange(value: string): IdRange {
  const m = /^(\d+)-(\d+)$/.exec(value.trim());
  if (!m) throw new BadRequestError(`--range must look like 10-20 (got "${value}")`);
  const [from, to] = [Number(m[1]), Number(m[2])];
  if (from > to) throw new BadRequestError(`--range start ${from} is after its end ${to}`);
  return { from, to };
}

const view = (queue: string, job: Job): FailedJobView => ({
  id: formatJobRef(queue, String(job.id)),
  queue,
  name: job.name,
  failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  attempts: job.attemptsMade,
  reason: job.failedReason ?? '',
});

/** Laravel's failed-job commands over BullMQ's failed sets. Ids are `<queue>:<id>` (or a plain id with --queue). */
@Injectable()
export class FailedJobs {
  constructor(private readonly registry: QueueRegistry) {}

  async list(queue?: string): Promise<FailedJobView[]> {
    const rows: FailedJobView[] = [];
    for (const q of this.registry.select(queue)) {
      for (const job of await q.getFailed(0, -1)) if (job) rows.push(view(q.name, job));
    }
    return rows.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''));
  }

  /** Puts the named failed jobs back with attempts reset; not_found names the first unknown one. */
  async retry(refs: string[], queue?: string): Promise<string[]> {
    const jobs = [];
    for (const ref of refs) jobs.push(await this.resolve(ref, queue));
    const done: string[] = [];
    for (const { q, job } of jobs) {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      done.push(formatJobRef(q.name, String(job.id)));
    }
    return done;
  }

  async retryAll(queue?: string, range?: IdRange): Promise<string[]> {
    const done: string[] = [];
    for (const q of this.registry.select(queue)) {
      for (const job of await q.getFailed(0, -1)) {
        if (!job || (range && !inRange(String(job.id), range))) continue;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        done.push(formatJobRef(q.name, String(job.id)));
      }
    }
    return done;
  }

  async forget(ref: string, queue?: string): Promise<string> {
    const { q, job } = await this.resolve(ref, queue);
    await job.remove();
    return formatJobRef(q.name, String(job.id));
  }

  /** Deletes failed jobs, only those failed at least `hours` ago when given. */
  async flush(queue?: string, hours?: number): Promise<number> {
    const cutoff = hours === undefined ? Infinity : Date.now() - hours * 3600_000;
    let removed = 0;
    for (const q of this.registry.select(queue)) {
      for (const job of await q.getFailed(0, -1)) {
        if (!job || (job.finishedOn ?? 0) > cutoff) continue;
        await job.remove();
        removed++;
      }
    }
    return removed;
  }

  private async resolve(ref: string, queueOpt?: string): Promise<{ q: Queue; job: Job }> {
    const parsed = parseJobRef(ref);
    if (parsed.queue && queueOpt && parsed.queue !== queueOpt) throw new BadRequestError(`${ref} is not on queue ${queueOpt}`);
    const candidates = parsed.queue || queueOpt ? this.registry.select([(parsed.queue ?? queueOpt) as string]) : this.registry.select();
    const found: Array<{ q: Queue; job: Job }> = [];
    for (const q of candidates) {
      const job = await q.getJob(parsed.id);
      if (job && (await job.isFailed())) found.push({ q, job });
    }
    if (found.length > 1) throw new BadRequestError(`Job id ${ref} is failed on several queues; write it as <queue>:<id>`);
    if (!found.length) throw new NotFoundError(`Failed job ${ref}`);
    return found[0];
  }
}

function inRange(id: string, range: IdRange): boolean {
  if (!/^\d+$/.test(id)) return false;
  const n = Number(id);
  return n >= range.from && n <= range.to;
}
