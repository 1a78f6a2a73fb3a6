import { Command, CommandRunner } from 'nest-commander';
import { QueueRegistry } from '../queue-registry';

/**
 * Laravel 13's queue:pause / queue:continue over BullMQ's own pause flag, which lives in the
 * queue's meta key in Redis: every worker of the cluster stops taking that queue's jobs (BullMQ's
 * fetch script returns nothing while it is set); running jobs finish; dispatching still works.
 */
@Command({ name: 'queue:pause', arguments: '<queue>', description: 'Workers stop taking jobs from the queue, cluster-wide (running jobs finish); also redis:<queue>' })
export class QueuePauseCommand extends CommandRunner {
  constructor(private readonly registry: QueueRegistry) {
    super();
  }

  async run([queue]: string[]): Promise<void> {
    const [q] = this.registry.select([queue]);
    await q.pause();
    process.stdout.write(`Job processing on queue [redis:${q.name}] has been paused.\n`);
  }
}

@Command({ name: 'queue:continue', arguments: '<queue>', description: 'Workers take jobs from a paused queue again' })
export class QueueContinueCommand extends CommandRunner {
  constructor(private readonly registry: QueueRegistry) {
    super();
  }

  async run([queue]: string[]): Promise<void> {
    const [q] = this.registry.select([queue]);
    await q.resume();
    process.stdout.write(`Job processing on queue [redis:${q.name}] has been resumed.\n`);
  }
}
