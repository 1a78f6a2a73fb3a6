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
