import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { AppConfig } from '../../../config/app-config';
import type { RedisClient } from '../../redis/redis.factory';
import { REDIS } from '../../redis/redis.module';
import { restartKey } from '../queue.keys';

@Command({ name: 'queue:restart', description: 'Every worker finishes its current jobs and exits (Supervisor starts it again)' })
export class QueueRestartCommand extends CommandRunner {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(): Promise<void> {
    // A new value each time: workers compare with what they read at start.
    await this.redis.set(restartKey(this.config.redis.prefix), `${Date.now()}:${process.pid}`);
    process.stdout.write('Broadcasting queue restart signal.\n');
  }
}
