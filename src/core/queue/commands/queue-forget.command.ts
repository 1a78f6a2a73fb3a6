import { Command, CommandRunner, Option } from 'nest-commander';
import { FailedJobs } from '../failed-jobs.service';

@Command({ name: 'queue:forget', arguments: '<id>', description: 'Delete one failed job (id as printed by queue:failed)' })
export class QueueForgetCommand extends CommandRunner {
  constructor(private readonly failed: FailedJobs) {
    super();
  }

  async run([id]: string[], opts: { queue?: string }): Promise<void> {
    const ref = await this.failed.forget(id, opts.queue);
    process.stdout.write(`Failed job ${ref} deleted.\n`);
  }

  @Option({ flags: '--queue <name>', description: 'The queue of a plain id' })
  parseQueue(v: string): string {
    return v;
  }
}
