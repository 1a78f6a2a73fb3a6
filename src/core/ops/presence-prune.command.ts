import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import { workersIndexKey } from '../queue/queue.keys';
import { WORKER_TTL_MS } from '../queue/worker/worker-heartbeat';
import { pruneDeadProcesses } from '../realtime/cluster-state';
import type { RedisClient } from '../redis/redis.factory';
import { REDIS } from '../redis/redis.module';
import { instancesKey, liveReports } from './instance-registry';

/**
 * Stale presence: api processes and workers that died without deregistering (SIGKILL, a lost host)
 * leave entries in three indexes. Their data expires by itself and every read skips them; this
 * removes the index entries too, so they never pile up. Scheduled every five minutes.
 */
@Command({ name: 'presence:prune', description: 'Remove api processes and workers that stopped without deregistering from the presence, instance and worker indexes' })
export class PresencePruneCommand extends CommandRunner {
  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {
    super();
  }

  async run(): Promise<void> {
    const prefix = this.config.redis.prefix;
    const now = Date.now();
    const processes = await pruneDeadProcesses(this.redis, prefix, now);
    const { stale } = liveReports(await this.redis.hgetall(instancesKey(prefix)), now);
    if (stale.length) await this.redis.hdel(instancesKey(prefix), ...stale);
    const workers = await this.redis.zremrangebyscore(workersIndexKey(prefix), '-inf', now - WORKER_TTL_MS);
    process.stdout.write(`Pruned ${processes} api process(es), ${stale.length} instance report(s) and ${workers} worker(s) that stopped without deregistering.\n`);
  }
}
