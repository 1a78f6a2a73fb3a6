import { installedVersion, PatchCheck } from './patch-check';

/**
 * mysql2's Pool has no public figures: open, idle and waiting connections are read from its
 * private `_allConnections`, `_freeConnections` and `_connectionQueue` (queues with a length), per
 * node of TypeORM's PoolCluster (`_nodes`). Only /api/performance/detailed and the status page
 * show them. Optional: when the fields are gone the pool figures are left out, with one warning.
 *
 * To remove: count connections with the pool's public 'acquire'/'release'/'enqueue' events.
 */
export const MYSQL2_WRITTEN_FOR = '3.x (tested with 3.24)';

export interface Mysql2Pool {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
  config?: { connectionLimit?: number };
}

export interface PoolFigures {
  open: number;
  idle: number;
  waiting: number;
  limit: number;
}

const isQueue = (v: unknown) => typeof (v as { length?: unknown } | undefined)?.length === 'number';

export function checkPoolFields(pool: Mysql2Pool | undefined): PatchCheck {
  const installed = installedVersion('mysql2');
  const missing = pool ? (['_allConnections', '_freeConnections', '_connectionQueue'] as const).filter((f) => !isQueue(pool[f])) : ['the pool'];
  const ok = missing.length === 0;
  return { library: 'mysql2', patch: 'Pool private counters', writtenFor: MYSQL2_WRITTEN_FOR, installed, ok, reason: ok ? undefined : `missing ${missing.join(', ')}` };
}

export function poolFigures(pool: Mysql2Pool): PoolFigures {
  return {
    open: pool._allConnections?.length ?? 0,
    idle: pool._freeConnections?.length ?? 0,
    waiting: pool._connectionQueue?.length ?? 0,
    limit: pool.config?.connectionLimit ?? 0,
  };
}
