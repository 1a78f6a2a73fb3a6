import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { BatchedReads } from '../redis/batched-reads';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';

/**
 * Read-your-writes across requests and processes: after a user's write, that
 * user's reads go to the primary for DB_STICKY_WINDOW_MS. Kept in Redis so it
 * holds whichever api process serves the next request.
 */
@Injectable()
export class StickyWindow {
  private readonly logger = new Logger(StickyWindow.name);
  private readonly windowMs: number;
  private readonly enabled: boolean;

  constructor(
    config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly reads: BatchedReads,
  ) {
    this.windowMs = config.db.stickyWindowMs;
    this.enabled = config.db.sticky && config.db.stickyWindowMs > 0;
    this.prefix = `${config.redis.prefix}db:sticky:`;
  }

  private readonly prefix: string;

  async recordWrite(userId: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.redis.set(this.prefix + userId, '1', 'PX', this.windowMs);
    } catch (err) {
      // The write itself succeeded; losing the window only risks a stale read.
      this.logger.warn({ userId, err: (err as Error).message }, 'could not record the read-your-writes window');
    }
  }

  /**
   * Read with other callers' keys in one MGET (BatchedReads): a request's token
   * check and window cost one round trip. Throws when Redis is unreachable:
   * the request then fails fast with 503.
   */
  isWithin(userId: string): Promise<boolean> {
    if (!this.enabled) return OUTSIDE;
    return this.reads.exists(this.prefix + userId);
  }
}

const OUTSIDE: Promise<boolean> = Promise.resolve(false);
