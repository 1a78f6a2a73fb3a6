import { Global, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BATCH_CALLBACKS, batchCallbackJob } from './batch/batch';
import { batchCallbackHandler, BatchCallbacks } from './batch/batch-callbacks';
import { Batches } from './batch/batches.service';
import { BatchesController } from './batch/batches.controller';
import { FailedJobs } from './failed-jobs.service';
import { JobHandlers } from './job-handlers';
import { MonitorWebhook } from './monitor-webhook';
import { PROBE_BATCH_CALLBACKS, PROBE_JOB, PROBE_VARIANTS, probeHandler } from './probe.job';
import { QueueMonitor } from './queue-monitor.service';
import { QueueRegistry } from './queue-registry';
import { JobRooms, QueueRooms } from './queue-rooms';

/**
 * Queues for every process: the producer registry, the job-handler registry,
 * failed-job, batch and monitor services. Consuming happens only in queue:work
 * (commands/queue-work.command.ts), never in the api.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [BatchesController],
  // The job: and queue: room kinds are discovered by core/realtime in the api (room-kinds.ts).
  providers: [QueueRegistry, JobHandlers, FailedJobs, QueueMonitor, MonitorWebhook, QueueRooms, JobRooms, BatchCallbacks, Batches],
  exports: [QueueRegistry, JobHandlers, FailedJobs, QueueMonitor, BatchCallbacks, Batches],
})
export class QueueModule implements OnModuleInit {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly batchCallbacks: BatchCallbacks,
    private readonly batches: Batches,
  ) {}

  onModuleInit(): void {
    this.handlers.register(PROBE_JOB, probeHandler);
    for (const [as, handler] of Object.entries(PROBE_VARIANTS)) this.handlers.register(`${PROBE_JOB}:${as}`, handler);
    for (const kind of BATCH_CALLBACKS) this.handlers.register(batchCallbackJob(kind), batchCallbackHandler(kind, this.batches.store, this.batchCallbacks));
    this.batchCallbacks.register(PROBE_JOB, PROBE_BATCH_CALLBACKS);
  }
}
