import { Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { JobHandler } from '../job-handlers';
import { BATCH_ID, BatchCallbackKind, BatchView } from './batch';
import type { BatchStore } from './batch-store';

/**
 * Laravel's `->then()`, `->catch()`, `->finally()`, declared once per kind of batch (its name) the
 * way job handlers are, since a closure cannot travel through Redis:
 *
 *   onModuleInit() { this.batchCallbacks.register('project-reanalysis', { then: async (batch) => ..., finally: ... }); }
 *
 * and dispatch with `Batches.dispatch(jobs, { name: 'project-reanalysis', ... })`. Each runs as a job
 * (`batch:then|catch|finally`) on a worker, once, retried like any job if it throws.
 */
export interface BatchCallbackSet {
  /** Every job succeeded (possibly after queue:retry-batch); never for a cancelled batch. */
  then?(batch: BatchView): Promise<void>;
  /** The first job failed for good, with its error; the others keep running only with allowFailures. */
  catch?(batch: BatchView, error: string): Promise<void>;
  /** Every job has succeeded, failed or been skipped. */
  finally?(batch: BatchView): Promise<void>;
}

@Injectable()
export class BatchCallbacks {
  private readonly byName = new Map<string, BatchCallbackSet>();

  register(name: string, callbacks: BatchCallbackSet): void {
    if (this.byName.has(name)) throw new Error(`Callbacks for batch "${name}" are already registered`);
    this.byName.set(name, callbacks);
  }

  get(name: string): BatchCallbackSet | undefined {
    return this.byName.get(name);
  }
}

export interface BatchCallbackJob {
  batch: string;
}

/** The handler of `batch:<kind>` jobs: looks the batch up and calls its registered callback. */
export function batchCallbackHandler(kind: BatchCallbackKind, store: BatchStore, callbacks: BatchCallbacks): JobHandler<BatchCallbackJob, { ran: string } | { skipped: string }> {
  return {
    async run(job) {
      const id = job.data.batch;
      if (typeof id !== 'string' || !BATCH_ID.test(id)) throw new UnrecoverableError(`${job.name} without a batch id`);
      const batch = await store.find(id);
      if (!batch) return { skipped: 'the batch no longer exists (pruned)' };
      const set = callbacks.get(batch.name);
      if (kind === 'then' && set?.then) await set.then(batch);
      else if (kind === 'catch' && set?.catch) await set.catch(batch, (await store.firstError(id)) ?? '');
      else if (kind === 'finally' && set?.finally) await set.finally(batch);
      else return { skipped: `no ${kind} callback for batch "${batch.name}"` };
      return { ran: kind };
    },
  };
}
