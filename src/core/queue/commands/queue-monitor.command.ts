import { Command, CommandRunner, Option } from 'nest-commander';
import { AppConfig } from '../../../config/app-config';
import { QueueMonitor } from '../queue-monitor.service';
import { parseCount, table } from '../../cli/cli-output';

@Command({
  name: 'queue:monitor',
  arguments: '[queues]',
  description:
    'Waiting, delayed, active, failed and oldest-waiting age per queue (also redis:<queue>); at or over --max (size = waiting+delayed+active) or --max-wait it alerts and exits 1',
})
export class QueueMonitorCommand extends CommandRunner {
  constructor(
    private readonly monitor: QueueMonitor,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run([queues]: string[], opts: { max?: string; maxWait?: string; json?: boolean }): Promise<void> {
    const max = opts.max === undefined ? 1000 : parseCount('--max', opts.max, 1);
    const names = (queues ?? this.config.queue.names.join(',')).split(',').map((q) => q.trim().replace(/^redis:/, '')).filter(Boolean);
    const maxWaitS = opts.maxWait === undefined ? undefined : parseCount('--max-wait', opts.maxWait, 1);
    const stats = await this.monitor.check(names, { max, maxWaitS });
    if (opts.json) process.stdout.write(JSON.stringify(stats) + '\n');
    else
      process.stdout.write(
        table(
          ['Queue', 'Waiting', 'Delayed', 'Active', 'Failed', 'Size', 'Oldest wait', 'Status'],
          stats.map((s) => [
            s.queue,
            String(s.waiting),
            String(s.delayed),
            String(s.active),
            String(s.failed),
            String(s.size),
            s.oldestWaitingS === null ? '-' : `${s.oldestWaitingS}s`,
            s.alert ? `ALERT (${s.reasons.map((r) => (r === 'size' ? `max ${max}` : `max wait ${maxWaitS}s`)).join(', ')})` : 'OK',
          ]),
        ),
      );
    if (stats.some((s) => s.alert)) process.exitCode = 1;
  }

  @Option({ flags: '--max <n>', description: 'Alert threshold per queue (default 1000)' })
  parseMax(v: string): string {
    return v;
  }

  @Option({ flags: '--max-wait <s>', description: "Alert when a queue's oldest waiting job has waited this many seconds" })
  parseMaxWait(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'JSON output' })
  parseJson(): boolean {
    return true;
  }
}
