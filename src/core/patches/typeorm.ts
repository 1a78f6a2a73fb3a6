import type { DataSource, QueryRunner, ReplicationMode } from 'typeorm';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * TypeORM has no sticky replication mode: every read of a repository goes to a replica. The
 * router (core/database/replication-router.ts) decides per unit of work, so it replaces the
 * DataSource's `createQueryRunner(mode)` (a public method, replaced on our one instance) and
 * wraps each runner's `query` to count, time and classify statements. The shape relied on:
 * `createQueryRunner(mode)` taking the replication mode, and the driver being replicated when
 * DB_READ_HOST is set. Required: without it reads after a write would go to a lagging replica.
 *
 * To remove: TypeORM would need a per-query replication hook (none as of 0.3); a custom Driver
 * subclass is the other way in.
 */
export const TYPEORM_WRITTEN_FOR = '0.3.x (tested with 0.3.31)';

export type CreateRunner = (mode: ReplicationMode) => QueryRunner;

export function checkQueryRunnerHook(ds: Pick<DataSource, 'createQueryRunner' | 'driver'>, replicated: boolean): PatchCheck {
  const installed = installedVersion('typeorm');
  const create = ds.createQueryRunner as unknown;
  const driverReplicated = (ds.driver as { isReplicated?: unknown } | undefined)?.isReplicated;
  let reason: string | undefined;
  if (typeof create !== 'function') reason = 'DataSource.createQueryRunner is gone';
  else if (create.length > 1) reason = `createQueryRunner takes ${create.length} arguments, not (mode)`;
  else if (replicated && driverReplicated !== true) reason = 'the driver does not report replication (driver.isReplicated)';
  return { library: 'typeorm', patch: 'DataSource.createQueryRunner', writtenFor: TYPEORM_WRITTEN_FOR, installed, ok: !reason, reason };
}

/** Every query runner the DataSource makes from now on comes from `route`, which gets the original factory. */
export function hookQueryRunners(ds: DataSource, route: (requested: ReplicationMode, create: CreateRunner) => QueryRunner): void {
  const create: CreateRunner = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = (requested: ReplicationMode = 'master') => route(requested, create);
}

/**
 * Which replica a read connects to. TypeORM's MysqlDriver asks mysql2's PoolCluster for any node
 * matching `SLAVE*` (named `SLAVE<index>` in DB_READ_HOST order by `MysqlDriver.connect`), so it
 * cannot skip a replica that answers but lags. `driver.obtainSlaveConnection()` (a public method,
 * replaced on our one driver) is where a slave-mode runner gets its connection; ours asks `obtain`,
 * which names a node (`replica(index)`) or falls back to the primary. Relied on: the `SLAVE<index>`
 * names, `driver.poolCluster.getConnection(pattern, cb)`, `driver.prepareDbConnection(conn)` and
 * `driver.obtainMasterConnection()`. Required: without it a lagging replica would serve reads.
 *
 * To remove: a selector hook in TypeORM's replication options, or one DataSource per replica.
 */
interface MysqlDriverShape {
  poolCluster?: { getConnection(pattern: string, cb: (err: Error | null, conn: unknown) => void): void };
  obtainSlaveConnection?: () => Promise<unknown>;
  obtainMasterConnection?: () => Promise<unknown>;
  prepareDbConnection?: (conn: unknown) => unknown;
}

export type ReplicaConnect = (index: number) => Promise<object>;
export type PrimaryConnect = () => Promise<object>;

export function checkReplicaChoiceHook(ds: Pick<DataSource, 'driver'>): PatchCheck {
  const d = ds.driver as unknown as MysqlDriverShape;
  let reason: string | undefined;
  if (typeof d.obtainSlaveConnection !== 'function') reason = 'driver.obtainSlaveConnection is gone';
  else if (typeof d.obtainMasterConnection !== 'function') reason = 'driver.obtainMasterConnection is gone';
  else if (typeof d.prepareDbConnection !== 'function') reason = 'driver.prepareDbConnection is gone';
  else if (typeof d.poolCluster?.getConnection !== 'function') reason = 'the driver has no mysql2 PoolCluster (driver.poolCluster)';
  return { library: 'typeorm', patch: 'MysqlDriver.obtainSlaveConnection', writtenFor: TYPEORM_WRITTEN_FOR, installed: installedVersion('typeorm'), ok: !reason, reason };
}

/** Every read connection from now on comes from `obtain`, given a way to each replica by index and to the primary. */
export function hookReplicaChoice(ds: DataSource, obtain: (replica: ReplicaConnect, primary: PrimaryConnect) => Promise<object>): void {
  const d = ds.driver as unknown as Required<MysqlDriverShape>;
  const replica: ReplicaConnect = (index) =>
    new Promise<object>((resolve, reject) => {
      d.poolCluster.getConnection(`SLAVE${index}`, (err, conn) => (err ? reject(err) : resolve(d.prepareDbConnection(conn) as object)));
    });
  const primary: PrimaryConnect = () => d.obtainMasterConnection.call(d) as Promise<object>;
  d.obtainSlaveConnection = () => obtain(replica, primary);
}
