import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { DbPoolStats } from './db-pool-stats';

const STATES = ['open', 'idle', 'waiting', 'limit'] as const;

/**
 * Seed 002's `db_connection_pool_size`, read from the pools at scrape time.
 * Labels are role (primary|replica) and state: replicas of one role are
 * summed, so the series count stays fixed however many replicas there are.
 */
@Injectable()
export class DbPoolMetric implements OnModuleInit {
  constructor(private readonly pools: DbPoolStats) {}

  onModuleInit(): void {
    if (register.getSingleMetric('db_connection_pool_size')) return;
    const pools = this.pools;
    new Gauge({
      name: 'db_connection_pool_size',
      help: 'Database connection pool by role (primary|replica) and state (open, idle, waiting callers, limit)',
      labelNames: ['role', 'state'] as const,
      collect() {
        this.reset();
        for (const p of pools.report().pools) for (const state of STATES) this.inc({ role: p.role, state }, p[state]);
      },
    });
  }
}
