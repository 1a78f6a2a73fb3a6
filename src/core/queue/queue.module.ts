import { Global, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { FailedJobs } from './failed-jobs.service';
import { JobHandlers } from './job-handlers';
import { MonitorWebhook } from './monitor-webhook';
import { PROBE_JOB, PROBE_VARIANTS, probeHandler } from './probe.job';
import { QueueMonitor } from './queue-monitor.service';
import { QueueRegistry } from './queue-registry';
import { JobRooms, QueueRooms } from './queue-rooms';

/**
 * Queues for every process: the producer registry, the job-handler registry,
 * failed-job and monitor services. Consuming happens only in queue:work
 * (commands/queue-work.command.ts), never in the api.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  // The job: and queue: room kinds are discovered by core/realtime in the api (room-kinds.ts).
  providers: [QueueRegistry, JobHandlers, FailedJobs, QueueMonitor, MonitorWebhook, QueueRooms, JobRooms],
  exports: [QueueRegistry, JobHandlers, FailedJobs, QueueMonitor],
})
export class QueueModule implements OnModuleInit {
  constructor(private readonly handlers: JobHandlers) {}

  onModuleInit(): void {
    this.handlers.register(PROBE_JOB, probeHandler);
    for (const [as, handler] of Object.entries(PROBE_VARIANTS)) this.handlers.register(`${PROBE_JOB}:${as}`, handler);
  }
}
