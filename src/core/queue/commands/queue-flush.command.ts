import { Command, CommandRunner, Option } from 'nest-commander';
import { FailedJobs } from '../failed-jobs.service';
import { parseCount } from '../../cli/cli-output';

interface FlushFlags {
  queue?: string;
  hours?: string;
}

async function flush(failed: FailedJobs, flags: FlushFlags, defaultHours?: number): Promise<void> {
  const hours = flags.hours === undefined ? defaultHours : parseCount('--hours', flags.hours);
  const n = await failed.flush(flags.queue, hours);
  process.stdout.write(`${n} failed job(s) deleted${hours === undefined ? '' : ` (failed at least ${hours} hour(s) ago)`}.\n`);
}

@Command({ name: 'queue:flush', description: 'Delete failed jobs (only those at least --hours old when given)' })
export class QueueFlushCommand extends CommandRunner {
  constructor(private readonly failed: FailedJobs) {
    super();
  }

  run(_args: string[], flags: FlushFlags): Promise<void> {
    return flush(this.failed, flags);
  }

  @Option({ flags: '--queue <name>', description: 'Only this queue' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--hours <n>', description: 'Only jobs that failed at least N hours ago' })
  parseHours(v: string): string {
    return v;
  }
}

@Command({ name: 'queue:prune-failed', description: 'Delete failed jobs older than --hours (default 24), for schedulers' })
export class QueuePruneFailedCommand extends CommandRunner {
  constructor(private readonly failed: FailedJobs) {
    super();
  }

  run(_args: string[], flags: FlushFlags): Promise<void> {
    return flush(this.failed, flags, 24);
  }

  @Option({ flags: '--queue <name>', description: 'Only this queue' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--hours <n>', description: 'Age in hours (default 24)' })
  parseHours(v: string): string {
    return v;
  }
}
