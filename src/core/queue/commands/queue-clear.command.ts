import { Command, CommandRunner, Option } from 'nest-commander';
import { createInterface } from 'node:readline/promises';
import { BadRequestError } from '../../errors/domain-error';
import { QueueRegistry } from '../queue-registry';

interface ClearFlags {
  queue?: string;
  force?: boolean;
}

/**
 * Laravel's queue:clear: deletes the jobs that have not started (waiting, and delayed ones such as
 * retries in backoff). Running jobs finish; failed jobs stay (queue:flush). Asks first on a
 * terminal; anywhere else it needs --force, so a script can never clear by accident.
 */
@Command({ name: 'queue:clear', arguments: '[connection]', description: 'Delete the waiting and delayed jobs of the queues (asks first unless --force)' })
export class QueueClearCommand extends CommandRunner {
  constructor(private readonly registry: QueueRegistry) {
    super();
  }

  async run([connection]: string[], flags: ClearFlags): Promise<void> {
    if (connection !== undefined && connection !== 'redis') throw new BadRequestError(`Unknown queue connection "${connection.slice(0, 40)}" (the only one is "redis")`);
    const queues = this.registry.select(flags.queue);
    const names = queues.map((q) => q.name).join(', ');
    if (!flags.force && !(await confirm(`Clear every waiting and delayed job of ${names}? (yes/no) [no]: `))) {
      process.stderr.write(process.stdin.isTTY ? 'Nothing cleared.\n' : 'queue:clear: not on a terminal; pass --force to clear without asking. Nothing cleared.\n');
      process.exitCode = 1;
      return;
    }
    for (const q of queues) {
      const before = await q.getJobCounts('wait', 'paused', 'prioritized', 'delayed');
      await q.drain(true);
      const n = Object.values(before).reduce((a, b) => a + b, 0);
      process.stdout.write(`Cleared ${n} job(s) from the [redis:${q.name}] queue.\n`);
    }
  }

  @Option({ flags: '--queue <names>', description: 'Queues, comma-separated (default: all configured)' })
  parseQueue(v: string): string {
    return v;
  }

  @Option({ flags: '--force', description: 'Do not ask' })
  parseForce(): boolean {
    return true;
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
