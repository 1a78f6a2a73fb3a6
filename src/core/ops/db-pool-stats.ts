import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ReplicaHealth, ReplicaStatus } from '../database/replica-health';
import { checkPoolFields, Mysql2Pool, poolFigures } from '../patches/mysql2';
import { reportPatch } from '../patches/patch-check';

export interface PoolStats {
  node: string;
  role: 'primary' | 'replica';
  /** Open connections, idle ones, callers waiting for one, and the limit (DB_POOL_SIZE). */
  open: number;
  idle: number;
  waiting: number;
  limit: number;
}

interface Mysql2Driver {
  pool?: Mysql2Pool;
  poolCluster?: { _nodes?: Record<string, { pool?: Mysql2Pool }> };
}

export function poolStats(node: string, pool: Mysql2Pool | undefined): PoolStats | null {
  if (!pool) return null;
  return { node, role: node.startsWith('SLAVE') ? 'replica' : 'primary', ...poolFigures(pool) };
}

/** Connection pool use per database node (TypeORM's mysql2 PoolCluster: MASTER, SLAVE0...) and replica health. */
@Injectable()
export class DbPoolStats {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReplicaHealth,
  ) {}

  /** Whether mysql2's private counters are there (core/patches/mysql2.ts), checked on first use. */
  private poolFieldsOk: boolean | undefined;

  report(): { pools: PoolStats[]; replicas: ReplicaStatus[]; replicaAvailable: boolean } {
    const driver = this.dataSource.driver as unknown as Mysql2Driver;
    const nodes: Array<[string, Mysql2Pool | undefined]> = driver.poolCluster?._nodes
      ? Object.entries(driver.poolCluster._nodes).map(([id, n]) => [id, n.pool])
      : [['MASTER', driver.pool]];
    this.poolFieldsOk ??= reportPatch(checkPoolFields(nodes[0]?.[1]), 'optional').ok;
    const pools = this.poolFieldsOk ? nodes.map(([id, pool]) => poolStats(id, pool)).filter((s): s is PoolStats => s !== null) : [];
    return { pools, replicas: this.replicas.status, replicaAvailable: this.replicas.available };
  }
}
