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
 *   onModuleInit() { this.handlers.register<AnalysisJob>('analysis', { run: (job, ctx) => ... }); }
 *
 * A provider that dispatches a job it does not handle itself declares the name
 * when it is built (`queues.declare('analysis')`), then dispatches with
 * QueueRegistry.dispatch(queue, 'analysis', data). A name nobody declared or
 * handles is refused at dispatch, and queue:work refuses to start while a
 * declared name has no handler in its module graph (as Immich does), so a
 * missing handler is found at boot, not when a job fails. Both the api
 * (which only dispatches) and the worker build the same modules; only
 * queue:work calls the handlers.
 */
@Injectable()
export class JobHandlers {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly declared = new Set<string>();

  register<Data, Result = unknown>(name: string, handler: JobHandler<Data, Result>): void {
    if (this.handlers.has(name)) throw new Error(`A handler for job "${name}" is already registered`);
    // Stored untyped: the job name ties a payload to its handler at dispatch.
    this.handlers.set(name, handler as JobHandler);
  }

  /** This process dispatches jobs named `name` (their handler may live in another module). */
  declare(name: string): void {
    this.declared.add(name);
  }

  /** A dispatch of a name nobody declared or handles is a programming error, caught where it is made. */
  assertDispatchable(name: string): void {
    if (!this.declared.has(name) && !this.handlers.has(name)) {
      throw new Error(`Job "${name}" is neither declared nor handled: declare it (QueueRegistry.declare) in the provider that dispatches it`);
    }
  }

  /** Declared names with no handler: queue:work refuses to start while there is one. */
  unhandled(): string[] {
    return [...this.declared].filter((name) => !this.handlers.has(name)).sort();
  }

  get(name: string): JobHandler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }
}
