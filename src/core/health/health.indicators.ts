import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { ReplicaHealth } from '../database/replica-health';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';

const PROBE_TIMEOUT_MS = 1500;

function withTimeout<T>(p: Promise<T>, ms = PROBE_TIMEOUT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** The three dependencies /up reports, each answered within 1.5 s. */
@Injectable()
export class DependencyIndicators {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly dataSource: DataSource,
    private readonly replicas: ReplicaHealth,
    @Inject(REDIS) private readonly redis: RedisClient,
    config: AppConfig,
  ) {
    this.maxLagS = config.db.replicaMaxLagS;
  }

  private readonly maxLagS: number;

  async databaseWrite(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('database_write');
    try {
      await withTimeout(this.dataSource.query('SELECT 1'));
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /**
   * From ReplicaHealth's once-a-second probe: a busy probe endpoint must not open a connection per call.
   * Up while at least one replica is in the read pool (answers, lags at most DB_REPLICA_MAX_LAG_S).
   */
  databaseRead(): HealthIndicatorResult {
    const check = this.indicator.check('database_read');
    const replicas = this.replicas.status.map((s) => ({
      host: s.host,
      up: s.up,
      state: s.state,
      inPool: s.inPool,
      lagSeconds: s.lagSeconds,
      ioThread: s.ioThread,
      sqlThread: s.sqlThread,
    }));
    if (this.replicas.available) return check.up({ replicas });
    const why = this.replicas.status.find((s) => s.error)?.error;
    return check.down({ replicas, message: `no replica usable (answering and at most ${this.maxLagS} s behind): reads go to the primary${why ? ` (${why})` : ''}` });
  }

  async redisPing(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('redis');
    try {
      await withTimeout(this.redis.ping());
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }
}
