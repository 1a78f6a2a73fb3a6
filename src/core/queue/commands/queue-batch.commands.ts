import { Command, CommandRunner, Option } from 'nest-commander';
import { Batches } from '../batch/batches.service';
import { parseCount, table } from '../../cli/cli-output';

@Command({ name: 'queue:retry-batch', arguments: '<id>', description: 'Put the failed jobs of a batch back on their queues, attempts reset (Laravel queue:retry-batch)' })
export class QueueRetryBatchCommand extends CommandRunner {
  constructor(private readonly batches: Batches) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const { retried, gone } = await this.batches.retryFailed(id);
    for (const ref of retried) process.stdout.write(`Pushed ${ref} back onto its queue.\n`);
    for (const ref of gone) process.stderr.write(`${ref} is no longer a failed job (forgotten, flushed or retried already): not retried.\n`);
    if (!retried.length && !gone.length) process.stdout.write(`Batch ${id} has no failed jobs.\n`);
  }
}

interface PruneFlags {
  hours?: string;
  unfinished?: string;
  cancelled?: string;
}

@Command({
  name: 'queue:prune-batches',
  description: 'Delete finished batches older than --hours (default 24); --unfinished=H and --cancelled=H also delete unfinished / cancelled ones created H hours ago',
})
export class QueuePruneBatchesCommand extends CommandRunner {
  constructor(private readonly batches: Batches) {
    super();
  }

  async run(_args: string[], f: PruneFlags): Promise<void> {
    const hoursAgo = (flag: string, v: string | undefined) => (v === undefined ? undefined : Date.now() - parseCount(flag, v) * 3600_000);
    const n = await this.batches.prune({
      finishedBefore: hoursAgo('--hours', f.hours ?? '24'),
      unfinishedBefore: hoursAgo('--unfinished', f.unfinished),
      cancelledBefore: hoursAgo('--cancelled', f.cancelled),
    });
    process.stdout.write(`${n} entries deleted.\n`);
  }

  @Option({ flags: '--hours <n>', description: 'Finished batches finished at least N hours ago (default 24)' })
  parseHours(v: string): string {
    return v;
  }

  @Option({ flags: '--unfinished <n>', description: 'Also unfinished batches created at least N hours ago' })
  parseUnfinished(v: string): string {
    return v;
  }

  @Option({ flags: '--cancelled <n>', description: 'Also cancelled batches created at least N hours ago' })
  parseCancelled(v: string): string {
    return v;
  }
}

@Command({ name: 'queue:cancel-batch', arguments: '<id>', description: 'Cancel a batch: its jobs not yet run are skipped, running ones finish' })
export class QueueCancelBatchCommand extends CommandRunner {
  constructor(private readonly batches: Batches) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const b = await this.batches.cancel(id);
    process.stdout.write(`Batch ${id} cancelled: ${b.pendingJobs - b.failedJobs} job(s) not run yet will be skipped.\n`);
  }
}

@Command({ name: 'queue:batch', arguments: '<id>', description: 'Show a batch: counts, progress, failed job ids' })
export class QueueBatchCommand extends CommandRunner {
  constructor(private readonly batches: Batches) {
    super();
  }

  async run([id]: string[], opts: { json?: boolean }): Promise<void> {
    const b = await this.batches.find(id);
    if (opts.json) {
      process.stdout.write(JSON.stringify(b) + '\n');
      return;
    }
    const rows = [
      ['name', b.name],
      ['total', String(b.totalJobs)],
      ['pending', String(b.pendingJobs)],
      ['processed', `${b.processedJobs} (${b.progress} %)`],
      ['failed', String(b.failedJobs)],
      ['skipped', String(b.skippedJobs)],
      ['allow failures', b.allowFailures ? 'yes' : 'no'],
      ['created', b.createdAt],
      ['cancelled', b.cancelledAt ?? '-'],
      ['finished', b.finishedAt ?? '-'],
      ['failed jobs', b.failedJobIds.join(', ') || '-'],
    ];
    process.stdout.write(table(['Batch', b.id], rows));
  }

  @Option({ flags: '--json', description: 'JSON, as GET /api/batches/:id' })
  parseJson(): boolean {
    return true;
  }
}
