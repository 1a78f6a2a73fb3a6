import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { JobMiddlewareSpec } from './job-middleware';

/** What a handler gets besides the job. */
export interface JobContext {
  queue: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when --timeout passes or the worker is forced to stop; long handlers should check it. */
  signal: AbortSignal;
  /** Updates the job's progress (0-100) and publishes job:progress. */
  progress(percent: number, extra?: { message?: string; currentStep?: string; totalSteps?: number }): Promise<void>;
}

export interface JobHandler<Data = unknown, Result = unknown> {
  /** Runs one attempt. Throw to retry (backoff), throw bullmq's UnrecoverableError to fail at once. */
  run(job: Job<Data, Result>, ctx: JobContext): Promise<Result>;
  /** Called once when the job has failed for good (tries exhausted or unrecoverable). */
  onFailed?(job: Job<Data, Result>, err: Error): Promise<void>;
  /**
   * @deprecated Every job is announced now (job:started|progress|completed|failed to the job's, the
   * queue's and the owner's rooms); the flag is ignored.
   */
  announce?: boolean;
  /** Laravel's job middleware around each attempt: withoutOverlapping, rateLimited, throttlesExceptions (job-middleware.ts). */
  middleware?: JobMiddlewareSpec[];
  /**
   * Laravel's ShouldBeUnique: one job per key while it is queued or running; a dispatch with the
   * same key meanwhile returns the existing job (BullMQ deduplication).
   */
  uniqueBy?: (data: Data) => string;
}

/**
 * Job name → handler. Modules register in onModuleInit:
 *
 *   constructor(handlers: JobHandlers, ...) {}
 *   onModuleInit() { this.handlers.register<AnalysisJob>('analysis', { run: (job, ctx) => ..., announce: true }); }
 *
 * and dispatch with QueueRegistry.dispatch(queue, 'analysis', data). Both the
 * api (which only dispatches) and the worker build the same modules, so the
 * registry is filled in either; only queue:work calls the handlers.
 */
@Injectable()
export class JobHandlers {
  private readonly handlers = new Map<string, JobHandler>();

  register<Data, Result = unknown>(name: string, handler: JobHandler<Data, Result>): void {
    if (this.handlers.has(name)) throw new Error(`A handler for job "${name}" is already registered`);
    // Stored untyped: the job name ties a payload to its handler at dispatch.
    this.handlers.set(name, handler as JobHandler);
  }

  get(name: string): JobHandler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }
}
