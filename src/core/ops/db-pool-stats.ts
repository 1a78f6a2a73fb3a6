import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReplicaHealth, ReplicaStatus } from '../database/replica-health';

export interface PoolStats {
  node: string;
  role: 'primary' | 'replica';
  /** Open connections, idle ones, callers waiting for one, and the limit (DB_POOL_SIZE). */
  open: number;
  idle: number;
  waiting: number;
  limit: number;
}

/** The parts of mysql2's Pool / PoolCluster read here. They are not public API: every field is checked. */
interface Mysql2Pool {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
  config?: { connectionLimit?: number };
}
interface Mysql2Driver {
  pool?: Mysql2Pool;
  poolCluster?: { _nodes?: Record<string, { pool?: Mysql2Pool }> };
}

export function poolStats(node: string, pool: Mysql2Pool | undefined): PoolStats | null {
  if (!pool) return null;
  return {
    node,
    role: node.startsWith('SLAVE') ? 'replica' : 'primary',
    open: pool._allConnections?.length ?? 0,
    idle: pool._freeConnections?.length ?? 0,
    waiting: pool._connectionQueue?.length ?? 0,
    limit: pool.config?.connectionLimit ?? 0,
  };
}

/** Connection pool use per database node (TypeORM's mysql2 PoolCluster: MASTER, SLAVE0...) and replica health. */
@Injectable()
export class DbPoolStats {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReplicaHealth,
  ) {}

  report(): { pools: PoolStats[]; replicas: ReplicaStatus[]; replicaAvailable: boolean } {
    const driver = this.dataSource.driver as unknown as Mysql2Driver;
    const pools: PoolStats[] = [];
    if (driver.poolCluster?._nodes) {
      for (const [id, n] of Object.entries(driver.poolCluster._nodes)) {
        const s = poolStats(id, n.pool);
        if (s) pools.push(s);
      }
    } else {
      const s = poolStats('MASTER', driver.pool);
      if (s) pools.push(s);
    }
    return { pools, replicas: this.replicas.status, replicaAvailable: this.replicas.available };
  }
}
