import { Inject } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AppConfig } from '../../../config/app-config';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import { liveWorkers } from '../worker/worker-heartbeat';
import { table } from '../../cli/cli-output';

/** Horizon's horizon:status and workers page: every live worker of the cluster, from Redis. */
@Command({ name: 'queue:status', description: 'Every live worker in the cluster: name, host, pid, queues, started, done/failed, current job, memory' })
export class QueueStatusCommand extends CommandRunner {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(_args: string[], opts: { json?: boolean }): Promise<void> {
    const workers = await liveWorkers(this.redis, this.config.redis.prefix);
    if (opts.json) {
      process.stdout.write(JSON.stringify(workers) + '\n');
      return;
    }
    if (workers.length === 0) {
      process.stdout.write('No worker is running.\n');
      return;
    }
    process.stdout.write(
      table(
        ['Name', 'Host', 'PID', 'Queues', 'Started', 'Done', 'Failed', 'Current', 'Memory', 'State'],
        workers.map((w) => [
          w.name,
          w.host,
          String(w.pid),
          w.queues.join(','),
          w.startedAt.slice(0, 19).replace('T', ' '),
          String(w.processed),
          String(w.failed),
          w.current.join('; ') || '-',
          `${w.memoryMb} MB`,
          w.state,
        ]),
      ),
    );
  }

  @Option({ flags: '--json', description: 'JSON: [{id, name, host, pid, queues, startedAt, processed, failed, current, memoryMb, state, seenAt}]' })
  parseJson(): boolean {
    return true;
  }
}
