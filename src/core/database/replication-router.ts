import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { DataSource, QueryRunner, ReplicationMode } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { reportPatch } from '../patches/patch-check';
import { checkQueryRunnerHook, checkReplicaChoiceHook, hookQueryRunners, hookReplicaChoice, PrimaryConnect, ReplicaConnect } from '../patches/typeorm';
import { dbQueriesTotal, dbQueryDuration, dbReplicaFallbacksTotal, dbReplicaReadsTotal } from '../metrics/metrics';
import { ReplicaHealth } from './replica-health';
import { CONNECTION_WAIT_LIMIT, DatabaseBusyError, isDatabaseUnavailable } from './database-errors';
import { DbRole, isWriteStatement, operationOf, routeQueryRunner } from './replication-routing';
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
 * - a read goes to a replica of the read pool (ReplicaHealth: answering,
 *   lagging at most DB_REPLICA_MAX_LAG_S), chosen at random, or to the primary when
 *   none is in it; a replica that fails to connect is taken out at once and the
 *   read tries the next one;
 * - every query is counted and timed by the role that served it.
 * Feature code keeps using plain repositories.
 */
@Injectable()
export class ReplicationRouter {
  private readonly logger = new Logger(ReplicationRouter.name);
  private readonly kinds: Record<DbRole, Map<string, StatementKind>> = { primary: new Map(), replica: new Map() };
  /** Which replica (index into DB_READ_HOST) each read connection came from. */
  private readonly servedBy = new WeakMap<object, number>();
  /** Runners waiting for a connection now, per mode, and how many may (CONNECTION_WAIT_LIMIT per node). */
  private readonly waiting: Record<ReplicationMode, number> = { master: 0, slave: 0 };
  private readonly waitLimit: Record<ReplicationMode, number>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly replicas: ReplicaHealth,
    private readonly sticky: StickyWindow,
  ) {
    this.waitLimit = { master: CONNECTION_WAIT_LIMIT, slave: CONNECTION_WAIT_LIMIT * Math.max(1, config.db.read.length) };
    this.install();
  }

  private install(): void {
    reportPatch(checkQueryRunnerHook(this.dataSource, this.config.db.read.length > 0), 'required');
    reportPatch(checkReplicaChoiceHook(this.dataSource), 'required');
    const stickyEnabled = this.config.db.sticky;
    hookQueryRunners(this.dataSource, (requested, original) => {
      const unit = currentRequestContext();
      const input = {
        requested,
        stickyEnabled,
        unitWrote: unit?.wrote ?? false,
        userWithinWindow: unit?.userWithinWindow ?? false,
        replicaAvailable: this.replicas.available,
      };
      const mode = routeQueryRunner(input);
      // A read that would have gone to a replica, had one been usable.
      if (!input.replicaAvailable && requested === 'slave' && routeQueryRunner({ ...input, replicaAvailable: true }) === 'slave') dbReplicaFallbacksTotal.inc();
      const runner = original(mode);
      this.instrument(runner, mode, original);
      return runner;
    });
    hookReplicaChoice(this.dataSource, (replica, primary) => this.connectRead(replica, primary));
  }

  /** A slave-mode runner's connection: the next replica in the pool; one that fails to connect is marked down and the next tried. */
  private async connectRead(replica: ReplicaConnect, primary: PrimaryConnect): Promise<object> {
    for (let tries = 0; tries < this.config.db.read.length; tries++) {
      const index = this.replicas.pick();
      if (index === undefined) break;
      try {
        const conn = await replica(index);
        this.servedBy.set(conn, index);
        return conn;
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        this.replicas.markDown(index, (err as Error).message);
      }
    }
    // The pool emptied between routing and connecting (a lag limit passed, a connect failed).
    dbReplicaFallbacksTotal.inc();
    return primary();
  }

  private instrument(runner: QueryRunner, mode: ReplicationMode, createRunner: (m: ReplicationMode) => QueryRunner): void {
    const query: QueryFn = runner.query.bind(runner);
    const connect = runner.connect.bind(runner);
    // The replica this runner's connection came from; undefined for the primary.
    let replica: number | undefined;
    const waiting = this.waiting;
    runner.connect = async () => {
      // Load shed here, before mysql2's queue (DatabaseBusyError says why not there): 503 Database busy.
      if (waiting[mode] >= this.waitLimit[mode]) throw new DatabaseBusyError();
      waiting[mode]++;
      let conn: unknown;
      try {
        conn = await connect();
      } finally {
        waiting[mode]--;
      }
      if (mode === 'slave' && conn && typeof conn === 'object') replica = this.servedBy.get(conn);
      return conn;
    };
    const wrapped = async (sql: string, parameters?: unknown[], structured?: boolean): Promise<unknown> => {
      const started = performance.now();
      try {
        const result: unknown = await query(sql, parameters, structured as true);
        const kind = this.classify(replica === undefined ? 'primary' : 'replica', sql);
        dbQueryDuration.observe(kind.duration, (performance.now() - started) / 1000);
        dbQueriesTotal.inc(kind.count);
        if (replica !== undefined) dbReplicaReadsTotal.inc({ replica: this.replicas.label(replica) });
        if (kind.write) await this.markWrite();
        return result;
      } catch (err) {
        dbQueryDuration.observe(this.classify(replica === undefined ? 'primary' : 'replica', sql).duration, (performance.now() - started) / 1000);
        if (replica !== undefined && isDatabaseUnavailable(err)) {
          return this.retryOnPrimary(replica, createRunner, sql, parameters, structured, err);
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
    replica: number,
    createRunner: (m: ReplicationMode) => QueryRunner,
    sql: string,
    parameters: unknown[] | undefined,
    structured: boolean | undefined,
    err: unknown,
  ): Promise<unknown> {
    // The failed runner is released by whoever created it, as usual.
    this.replicas.markDown(replica, (err as Error).message);
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
