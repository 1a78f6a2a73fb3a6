import { Command, CommandRunner, Option } from 'nest-commander';
import { UsageError } from '../../cli/command-errors';
import { FailedJobs, parseRange } from '../failed-jobs.service';

@Command({
  name: 'queue:retry',
  arguments: '[ids...]',
  description: 'Put failed jobs back on their queue with attempts reset: ids as printed by queue:failed (<queue>:<id>, or a plain id with --queue), or "all" [--range=a-b]',
})
export class QueueRetryCommand extends CommandRunner {
  constructor(private readonly failed: FailedJobs) {
    super();
  }

  async run(ids: string[], opts: { queue?: string; range?: string }): Promise<void> {
    let retried: string[];
    if (ids.length === 1 && ids[0] === 'all') {
      retried = await this.failed.retryAll(opts.queue, opts.range ? parseRange(opts.range) : undefined);
    } else if (opts.range && ids.length === 0) {
      retried = await this.failed.retryAll(opts.queue, parseRange(opts.range));
    } else if (ids.length) {
      retried = await this.failed.retry(ids, opts.queue);
    } else {
      throw new UsageError('needs job ids, "all" or --range');
    }
    for (const id of retried) process.stdout.write(`Pushed ${id} back onto its queue.\n`);
    if (!retried.length) process.stdout.write('No failed jobs matched.\n');
  }

  @Option({ flags: '--queue <name>', description: 'Only this queue' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--range <a-b>', description: 'Numeric job ids from a to b (inclusive)' })
  parseRange(v: string): string {
    return v;
  }
}
