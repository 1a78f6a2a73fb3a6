import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DataSource, QueryRunner, ReplicationMode } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { reportPatch } from '../patches/patch-check';
import { checkQueryRunnerHook, hookQueryRunners } from '../patches/typeorm';
import { dbQueriesTotal, dbQueryDuration, dbReplicaFallbacksTotal } from '../metrics/metrics';
import { ReplicaHealth } from './replica-health';
import { isDatabaseUnavailable } from './database-errors';
import { DbRole, isWriteStatement, operationOf, roleOf, routeQueryRunner } from './replication-routing';
import { StickyWindow } from './sticky-window';
import { currentRequestContext } from './request-context';

type QueryFn = QueryRunner['query'];

interface StatementKind {
  write: boolean;
  duration: { role: string; operation: string };
  count: { role: string; kind: 'read' | 'write' };
}

const MAX_KNOWN_STATEMENTS = 2000;

/**
 * TypeORM has no sticky mode and sends every repository read to a replica:
 * this routes every query runner the DataSource makes (core/patches/typeorm.ts) so that
 * - a unit of work that has written, or a user inside the read-your-writes
 *   window, reads the primary (Laravel's `sticky`, Rails' role switching);
 * - a replica that cannot be reached costs one failed connect, then reads
 *   go to the primary until ReplicaHealth sees a replica again;
 * - every query is counted and timed by the role that served it.
 * Feature code keeps using plain repositories.
 */
@Injectable()
export class ReplicationRouter {
  private readonly logger = new Logger(ReplicationRouter.name);
  private readonly kinds: Record<DbRole, Map<string, StatementKind>> = { primary: new Map(), replica: new Map() };

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly replicas: ReplicaHealth,
    private readonly sticky: StickyWindow,
  ) {
    this.install();
  }

  private install(): void {
    reportPatch(checkQueryRunnerHook(this.dataSource, this.config.db.read.length > 0), 'required');
    const stickyEnabled = this.config.db.sticky;
    hookQueryRunners(this.dataSource, (requested, original) => {
      const unit = currentRequestContext();
      const mode = routeQueryRunner({
        requested,
        stickyEnabled,
        unitWrote: unit?.wrote ?? false,
        userWithinWindow: unit?.userWithinWindow ?? false,
        replicaAvailable: this.replicas.available,
      });
      const runner = original(mode);
      this.instrument(runner, mode, original);
      return runner;
    });
  }

  private instrument(runner: QueryRunner, mode: ReplicationMode, createRunner: (m: ReplicationMode) => QueryRunner): void {
    const query: QueryFn = runner.query.bind(runner);
    const role = roleOf(mode);
    const wrapped = async (sql: string, parameters?: unknown[], structured?: boolean): Promise<unknown> => {
      const kind = this.classify(role, sql);
      const started = performance.now();
      try {
        const result: unknown = await query(sql, parameters, structured as true);
        dbQueryDuration.observe(kind.duration, (performance.now() - started) / 1000);
        dbQueriesTotal.inc(kind.count);
        if (kind.write) await this.markWrite();
        return result;
      } catch (err) {
        dbQueryDuration.observe(kind.duration, (performance.now() - started) / 1000);
        if (mode === 'slave' && isDatabaseUnavailable(err)) {
          return this.retryOnPrimary(runner, createRunner, sql, parameters, structured, err);
        }
        throw err;
      }
    };
    runner.query = wrapped as QueryFn;
  }

  /**
   * What a statement is, per role and SQL text: TypeORM sends the same text
   * (values as `?`) again and again, so the regexes and label objects are
   * made once (bounded: raw SQL with literals would only refill the map).
   */
  private classify(role: DbRole, sql: string): StatementKind {
    // Per role, then by the text itself: `role + sql` would copy every statement to look it up.
    const known = this.kinds[role];
    let kind = known.get(sql);
    if (!kind) {
      const write = isWriteStatement(sql);
      kind = { write, duration: { role, operation: operationOf(sql) }, count: { role, kind: write ? 'write' : 'read' } };
      if (known.size >= MAX_KNOWN_STATEMENTS) known.clear();
      known.set(sql, kind);
    }
    return kind;
  }

  private async retryOnPrimary(
    _failed: QueryRunner,
    createRunner: (m: ReplicationMode) => QueryRunner,
    sql: string,
    parameters: unknown[] | undefined,
    structured: boolean | undefined,
    err: unknown,
  ): Promise<unknown> {
    // The failed runner is released by whoever created it, as usual.
    this.replicas.markDown((err as Error).message);
    dbReplicaFallbacksTotal.inc();
    const primary = createRunner('master');
    const end = dbQueryDuration.startTimer({ role: 'primary', operation: operationOf(sql) });
    try {
      return (await primary.query(sql, parameters, structured as true)) as unknown;
    } finally {
      end();
      dbQueriesTotal.inc({ role: 'primary', kind: 'read' });
      await primary.release();
    }
  }

  private async markWrite(): Promise<void> {
    const unit = currentRequestContext();
    if (!unit) return;
    const first = !unit.wrote;
    unit.wrote = true;
    if (first && unit.userId) await this.sticky.recordWrite(unit.userId);
  }
}
