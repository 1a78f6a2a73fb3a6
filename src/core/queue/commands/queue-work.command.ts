import { Inject, Logger } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { Command, CommandRunner, Option } from 'nest-commander';
import { register } from 'prom-client';
import { AppConfig } from '../../../config/app-config';
import { RealtimeService } from '../../realtime/realtime.contract';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import { JobHandlers } from '../job-handlers';
import { QueueMonitor } from '../queue-monitor.service';
import { QueueRegistry } from '../queue-registry';
import { QueueWorker, WorkOptions } from '../worker/queue-worker';
import { fail, parseCount } from './cli-output';

interface WorkFlags {
  queue?: string;
  tries?: string;
  backoff?: string;
  concurrency?: string;
  maxJobs?: string;
  maxTime?: string;
  timeout?: string;
  stopWhenEmpty?: boolean;
}

@Command({
  name: 'queue:work',
  description: 'Work the queues in priority order (a free slot always takes a high job before a default one); SIGTERM finishes running jobs, then exits 0',
})
export class QueueWorkCommand extends CommandRunner {
  private readonly logger = new Logger('queue:work');

  constructor(
    private readonly config: AppConfig,
    private readonly registry: QueueRegistry,
    private readonly handlers: JobHandlers,
    private readonly realtime: RealtimeService,
    private readonly monitor: QueueMonitor,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    super();
  }

  async run(_args: string[], flags: WorkFlags): Promise<void> {
    let opts: WorkOptions;
    try {
      opts = this.options(flags);
    } catch (err) {
      fail('queue:work', err);
      process.exitCode = 2;
      return;
    }
    const worker = new QueueWorker(this.config, this.handlers, this.realtime, this.redis, opts, () => this.monitor.refresh(opts.queues));
    const onSignal = (signal: NodeJS.Signals) => {
      this.logger.log({ signal }, 'signal received: finishing running jobs');
      worker.stop('signal');
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const metrics = this.metricsServer();
    try {
      const reason = await worker.run();
      process.stdout.write(`Worker stopped (${reason}) after ${worker.processedCount} job(s).\n`);
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      metrics?.close();
    }
  }

  private options(f: WorkFlags): WorkOptions {
    const queues = (f.queue ?? this.config.queue.names.join(',')).split(',').map((q) => q.trim()).filter(Boolean);
    this.registry.select(queues);
    if (new Set(queues).size !== queues.length) throw new Error('--queue names a queue twice');
    return {
      queues,
      tries: f.tries === undefined ? this.config.queue.tries : parseCount('--tries', f.tries, 1),
      backoffMs: f.backoff === undefined ? this.config.queue.backoffMs : parseCount('--backoff', f.backoff),
      concurrency: f.concurrency === undefined ? 1 : Math.min(parseCount('--concurrency', f.concurrency, 1), 1000),
      maxJobs: f.maxJobs === undefined ? 0 : parseCount('--max-jobs', f.maxJobs),
      maxTimeS: f.maxTime === undefined ? 0 : parseCount('--max-time', f.maxTime),
      timeoutS: f.timeout === undefined ? 60 : parseCount('--timeout', f.timeout),
      stopWhenEmpty: f.stopWhenEmpty ?? false,
    };
  }

  /** With METRICS_PORT set, the worker serves /metrics on its own port (on METRICS_HOST, loopback unless a container opens it). */
  private metricsServer(): Server | undefined {
    const port = this.config.queue.metricsPort;
    if (!port) return undefined;
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

  @Option({ flags: '--backoff <ms>', description: 'First retry delay, doubled on each retry (default QUEUE_BACKOFF_MS)' })
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

  @Option({ flags: '--timeout <s>', description: 'Fail an attempt that runs longer (default 60; 0 for none)' })
  parseTimeout(v: string): string {
    return v;
  }

  @Option({ flags: '--stop-when-empty', description: 'Exit once the queues have no job ready' })
  parseStopWhenEmpty(): boolean {
    return true;
  }
}
