import { Inject, Logger } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { Command, CommandRunner, Option } from 'nest-commander';
import { register } from 'prom-client';
import { AppConfig } from '../../../config/app-config';
import { collectDefaultMetricsOnce } from '../../metrics/default-metrics';
import { RealtimeService } from '../../realtime/realtime.contract';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import { ReplicationSampler } from '../../redis/replication-sampler';
import { Batches } from '../batch/batches.service';
import { JobHandlers } from '../job-handlers';
import { QueueMonitor } from '../queue-monitor.service';
import { parseQueueName } from '../queue.keys';
import { parseBackoff } from '../worker/backoff';
import { QueueWorker, StopReason, WorkOptions } from '../worker/queue-worker';
import { WorkConsole } from '../worker/work-console';
import { parseCount, parseSeconds } from '../../cli/cli-output';
import { UsageError } from '../../cli/command-errors';

interface WorkFlags {
  queue?: string;
  tries?: string;
  backoff?: string;
  concurrency?: string;
  maxJobs?: string;
  maxTime?: string;
  timeout?: string;
  stopWhenEmpty?: boolean;
  memory?: string;
  sleep?: string;
  rest?: string;
  once?: boolean;
  name?: string;
  force?: boolean;
  quiet?: boolean;
}

/**
 * Laravel's default is 128 MB of PHP heap; a Node worker with this module graph starts near
 * that in resident memory, so the default leaves it room (measured in docs/queues.md).
 */
const DEFAULT_MEMORY_MB = 512;

function parseWorkerName(v: string): string {
  if (!/^[\w.:@-]{1,64}$/.test(v)) throw new UsageError(`--name must be 1-64 letters, digits or . _ : @ - (got "${v.slice(0, 70)}")`);
  return v;
}

/** Laravel's exit codes: 12 over --memory; 1 when a handler had to be abandoned at --timeout. */
const EXIT_CODES: Partial<Record<StopReason, number>> = { memory: 12, timeout: 1 };

@Command({
  name: 'queue:work',
  description: 'Work the queues in priority order (a free slot always takes a high job before a default one); SIGTERM finishes running jobs, then exits 0',
})
export class QueueWorkCommand extends CommandRunner {
  private readonly logger = new Logger('queue:work');

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: JobHandlers,
    private readonly realtime: RealtimeService,
    private readonly monitor: QueueMonitor,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly batches: Batches,
    private readonly sampler: ReplicationSampler,
  ) {
    super();
  }

  async run(_args: string[], flags: WorkFlags): Promise<void> {
    const opts = this.options(flags);
    const unhandled = this.handlers.unhandled();
    // Found at boot, not when the first such job fails (Immich's rule): Supervisor shows the worker FATAL with this line.
    if (unhandled.length) throw new Error(`refusing to start: no handler is registered for the job(s) ${unhandled.join(', ')} that this application dispatches`);
    const console = new WorkConsole(process.stdout, flags.quiet ?? false);
    const worker = new QueueWorker(this.config, this.handlers, this.realtime, this.redis, opts, {
      refreshCounts: () => this.monitor.refresh(opts.queues),
      console,
      batches: this.batches.tracker(),
      replicationSampler: this.sampler,
    });
    const onSignal = (signal: NodeJS.Signals) => {
      this.logger.log({ signal }, 'signal received: finishing running jobs');
      worker.stop('signal');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Job lines wait for the end of their event-loop turn (WorkConsole): an exit in between still prints them.
    const flushConsole = () => console.flush();
    process.on('exit', flushConsole);
    const metrics = this.metricsServer();
    try {
      console.note(`Worker ${opts.name} processing jobs from ${opts.queues.join(', ')}.`);
      const reason = await worker.run();
      console.note(`Worker stopped (${reason}) after ${worker.processedCount} job(s).`);
      if (EXIT_CODES[reason]) process.exitCode = EXIT_CODES[reason];
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('exit', flushConsole);
      console.flush();
      metrics?.close();
    }
  }

  private options(f: WorkFlags): WorkOptions {
    // Any name works, as Laravel creates queues on first use; `redis:high` is read as `high`.
    const queues = (f.queue ?? this.config.queue.names.join(',')).split(',').filter((q) => q.trim()).map(parseQueueName);
    if (new Set(queues).size !== queues.length) throw new UsageError('--queue names a queue twice');
    return {
      queues,
      tries: f.tries === undefined ? this.config.queue.tries : parseCount('--tries', f.tries, 1),
      backoff: f.backoff === undefined ? this.config.queue.backoff : parseBackoff('--backoff', f.backoff),
      // --once: Laravel's "process the next job, then exit" (one slot, and nothing to wait for when empty).
      concurrency: f.once ? 1 : f.concurrency === undefined ? 1 : Math.min(parseCount('--concurrency', f.concurrency, 1), 1000),
      maxJobs: f.once ? 1 : f.maxJobs === undefined ? 0 : parseCount('--max-jobs', f.maxJobs),
      maxTimeS: f.maxTime === undefined ? 0 : parseCount('--max-time', f.maxTime),
      timeoutS: f.timeout === undefined ? 60 : parseCount('--timeout', f.timeout),
      stopWhenEmpty: (f.stopWhenEmpty ?? false) || (f.once ?? false),
      memoryMb: f.memory === undefined ? DEFAULT_MEMORY_MB : parseCount('--memory', f.memory),
      sleepS: f.sleep === undefined ? 1 : parseSeconds('--sleep', f.sleep, 0.01, 3600),
      restS: f.rest === undefined ? 0 : parseSeconds('--rest', f.rest, 0, 3600),
      name: f.name === undefined ? 'default' : parseWorkerName(f.name),
      force: f.force ?? false,
    };
  }

  /** With METRICS_PORT set, the worker serves /metrics on its own port (on METRICS_HOST, loopback unless a container opens it). */
  private metricsServer(): Server | undefined {
    const port = this.config.queue.metricsPort;
    if (!port) return undefined;
    collectDefaultMetricsOnce();
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      register
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': register.contentType }).end(body))
        .catch(() => res.writeHead(500).end());
    });
    server.on('error', (err) => this.logger.warn({ port, err: err.message }, 'worker metrics port unavailable'));
    server.listen(port, this.config.queue.metricsHost);
    return server;
  }

  @Option({ flags: '--queue <names>', description: 'Queues in priority order, comma-separated (default: all configured, e.g. high,default)' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--tries <n>', description: 'Attempts per job unless the job sets its own (default QUEUE_TRIES)' })
  parseTries(v: string): string {
    return v;
  }

  @Option({ flags: '--backoff <seconds>', description: 'Seconds before a retry: one value (doubled on each retry) or a list per retry, e.g. 1,5,10 (default QUEUE_BACKOFF)' })
  parseBackoff(v: string): string {
    return v;
  }

  @Option({ flags: '--concurrency <n>', description: 'Jobs run at once by this process (default 1)' })
  parseConcurrency(v: string): string {
    return v;
  }

  @Option({ flags: '--max-jobs <n>', description: 'Exit after this many jobs' })
  parseMaxJobs(v: string): string {
    return v;
  }

  @Option({ flags: '--max-time <s>', description: 'Exit after this many seconds (running jobs finish first)' })
  parseMaxTime(v: string): string {
    return v;
  }

  @Option({ flags: '--timeout <s>', description: 'Fail an attempt that runs longer (default 60; 0 for none); a handler that ignores its abort signal makes the worker exit 1' })
  parseTimeout(v: string): string {
    return v;
  }

  @Option({ flags: '--stop-when-empty', description: 'Exit once the queues have no job ready' })
  parseStopWhenEmpty(): boolean {
    return true;
  }

  @Option({ flags: '--memory <mb>', description: `Exit with code 12 after a job once resident memory is over this many MB (default ${DEFAULT_MEMORY_MB}; 0 for none)` })
  parseMemory(v: string): string {
    return v;
  }

  @Option({ flags: '--sleep <s>', description: 'Seconds an idle worker waits for a wake-up before looking again (default 1)' })
  parseSleep(v: string): string {
    return v;
  }

  @Option({ flags: '--rest <s>', description: 'Seconds to pause after each job (default 0)' })
  parseRest(v: string): string {
    return v;
  }

  @Option({ flags: '--once', description: 'Process the next job (if any), then exit' })
  parseOnce(): boolean {
    return true;
  }

  @Option({ flags: '--name <name>', description: 'Worker name shown in logs and queue:status (default "default")' })
  parseName(v: string): string {
    return v;
  }

  @Option({ flags: '--force', description: 'Work even in maintenance mode' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '-q, --quiet', description: 'No job lines on stdout (JSON logs on stderr are unchanged)' })
  parseQuiet(): boolean {
    return true;
  }
}

