import { Command, CommandRunner, Option } from 'nest-commander';
import { FailedJobs } from '../failed-jobs.service';
import { table } from '../../cli/cli-output';

@Command({ name: 'queue:failed', description: 'List failed jobs: id, queue, name, failed at, attempts, reason' })
export class QueueFailedCommand extends CommandRunner {
  constructor(private readonly failed: FailedJobs) {
    super();
  }

  async run(_args: string[], opts: { queue?: string; json?: boolean }): Promise<void> {
    const rows = await this.failed.list(opts.queue);
    if (opts.json) {
      process.stdout.write(JSON.stringify(rows) + '\n');
      return;
    }
    if (!rows.length) {
      process.stdout.write('No failed jobs.\n');
      return;
    }
    const oneLine = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s).replace(/\s+/g, ' ');
    process.stdout.write(
      table(
        ['ID', 'Queue', 'Name', 'Failed At', 'Attempts', 'Reason'],
        rows.map((r) => [r.id, r.queue, r.name, r.failedAt ?? '', String(r.attempts), oneLine(r.reason)]),
      ),
    );
  }

  @Option({ flags: '--queue <name>', description: 'Only this queue' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'JSON: [{id, queue, name, failedAt, attempts, reason}]' })
  parseJson(): boolean {
    return true;
  }
}
