import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
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
  ) {}

  async databaseWrite(): Promise<HealthIndicatorResult> {
    const check = this.indicator.check('database_write');
    try {
      await withTimeout(this.dataSource.query('SELECT 1'));
      return check.up();
    } catch (err) {
      return check.down({ message: (err as Error).message });
    }
  }

  /** From ReplicaHealth's once-a-second probe: a busy probe endpoint must not open a connection per call. */
  databaseRead(): HealthIndicatorResult {
    const check = this.indicator.check('database_read');
    const statuses = this.replicas.status;
    const replicas = statuses.map((s) => ({ host: s.host, up: s.up, lagSeconds: s.lagSeconds }));
    return statuses.some((s) => s.up) ? check.up({ replicas }) : check.down({ replicas, message: statuses.find((s) => s.error)?.error });
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
