import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig, DbHost } from '../../config/app-config';
import { dbReplicaInPool, dbReplicaLagSeconds, dbReplicaUp } from '../metrics/metrics';
import { parseGtidPosition } from './gtid';
import { observeReplica, primaryPosition, ProbeConnections } from './replica-probe';
import { judgeReplica, LagVerdict, PrimaryPositions, ReplicaObservation, ReplicaState } from './replication-lag';

/**
 * /up under load asks far more often than a replica changes state: a probe that finished this recently
 * answers it (bench/http: a fresh connection per /up cost about 15% of its CPU). markDown() still
 * shows at once, since the current state is returned.
 */
export const PROBE_REUSE_MS = 250;
const PROBE_INTERVAL_MS = 1000;
const FIRST_ROUND_WAIT_MS = 3000;

export interface ReplicaStatus {
  /** The DB_READ_HOST entry, host:port (also the `replica` label of the metrics). */
  host: string;
  /** Answered its last probe (and no read failed to connect since). */
  up: boolean;
  state: ReplicaState;
  /** Takes reads now: answers and lags at most DB_REPLICA_MAX_LAG_S. */
  inPool: boolean;
  /** How far behind the primary its data is, in seconds; null when unknown. */
  lagSeconds: number | null;
  ioThread: string | null;
  sqlThread: string | null;
  secondsBehindMaster: number | null;
  checkedAt: string | null;
  error?: string;
}

interface Replica {
  host: DbHost;
  label: string;
  /** The entry names the primary itself (DB_READ_HOST unset, or listing the write host): always usable. */
  isPrimary: boolean;
  observation?: ReplicaObservation;
  coveredAt?: number;
  /** A read failed to connect: out until the next probe. */
  markedDown?: string;
  wasInPool?: boolean;
}

/**
 * The read pool. Once a second this process samples the primary's GTID position and probes every
 * replica (threads, applied position) on connections of its own, kept between probes (ProbeConnections); a replica takes reads while it
 * answers and its data is at most DB_REPLICA_MAX_LAG_S behind (replication-lag.ts), judged at the
 * moment of each read, so a replica that stopped applying leaves the pool as soon as it is too old,
 * not at the next probe. Each read goes to a random replica of the pool (SPEC §6); with none, to the
 * primary (ReplicationRouter), said once in the log and by db_replica_up / db_replica_fallbacks_total.
 */
@Injectable()
export class ReplicaHealth implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaHealth.name);
  private readonly replicas: Replica[];
  private readonly primary: PrimaryPositions;
  private readonly maxLagMs: number;
  private readonly connections: ProbeConnections;
  /** False once the primary turned out to have no MariaDB GTIDs (MySQL): Seconds_Behind_Master then. */
  private gtid = true;
  private primaryAnswered = true;
  private timer?: NodeJS.Timeout;
  private checking?: Promise<ReplicaStatus[]>;
  private checkedAt = 0;
  /** undefined until the first probe round: its outcome is not a change. */
  private wasAvailable?: boolean;

  constructor(private readonly config: AppConfig) {
    const w = config.db.write;
    this.replicas = config.db.read.map((h) => ({ host: h, label: `${h.host}:${h.port}`, isPrimary: h.host === w.host && h.port === w.port }));
    this.maxLagMs = config.db.replicaMaxLagS * 1000;
    this.primary = new PrimaryPositions(Math.max(60_000, 3 * this.maxLagMs));
    this.connections = new ProbeConnections({ user: config.db.username, password: config.db.password });
    dbReplicaUp.set(1);
  }

  /** Some entry of DB_READ_HOST is a server of its own, to be watched. */
  private get watching(): boolean {
    return this.replicas.some((r) => !r.isPrimary);
  }

  /**
   * The first round runs before the process serves (Nest awaits this), so reads use the replicas
   * and /up tells the truth from the first request; a server that does not answer holds start-up
   * at most FIRST_ROUND_WAIT_MS.
   */
  async onModuleInit(): Promise<void> {
    if (!this.watching) return;
    this.timer = setInterval(() => void this.check(), PROBE_INTERVAL_MS);
    this.timer.unref();
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([this.check(), new Promise<void>((resolve) => (waited = setTimeout(resolve, FIRST_ROUND_WAIT_MS)))]);
    clearTimeout(waited);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.connections.close();
  }

  /** Reads may use a replica: at least one is in the pool now. */
  get available(): boolean {
    const now = Date.now();
    return this.replicas.some((r) => this.verdict(r, now).inPool);
  }

  /** A random replica of the pool (SPEC §6: random among DB_READ_HOST; index into it); undefined when none is usable. */
  pick(): number | undefined {
    const now = Date.now();
    let chosen: number | undefined;
    let seen = 0;
    // One pass, every replica in the pool equally likely (reservoir of one): no array per read.
    for (let i = 0; i < this.replicas.length; i++) {
      if (!this.verdict(this.replicas[i], now).inPool) continue;
      seen++;
      if (Math.random() * seen < 1) chosen = i;
    }
    return chosen;
  }

  /** The replica's DB_READ_HOST entry (host:port). */
  label(index: number): string {
    return this.replicas[index]?.label ?? 'unknown';
  }

  get status(): ReplicaStatus[] {
    const now = Date.now();
    return this.replicas.map((r) => this.statusOf(r, now));
  }

  /** A read could not connect to this replica: it takes no reads until the next probe finds it answering. */
  markDown(index: number, reason: string): void {
    const r = this.replicas[index];
    if (!r || r.isPrimary || r.markedDown) return;
    r.markedDown = reason;
    this.logger.warn({ replica: r.label, reason }, 'replica unreachable: taken out of the read pool');
    this.publish();
  }

  /**
   * Probes now: one round at a time, shared by concurrent callers, and the current state when the
   * last round finished less than PROBE_REUSE_MS ago.
   */
  check(): Promise<ReplicaStatus[]> {
    if (!this.checking && Date.now() - this.checkedAt < PROBE_REUSE_MS) return Promise.resolve(this.status);
    this.checking ??= this.round()
      .then(() => this.status)
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async round(): Promise<void> {
    // The primary first: a replica read after it that covers its position holds every commit before `at`.
    if (this.gtid) await this.samplePrimary();
    const observed = await Promise.all(this.replicas.map((r) => (r.isPrimary ? Promise.resolve(undefined) : observeReplica(this.connections, r.host, this.gtid))));
    observed.forEach((o, i) => {
      if (!o) return;
      const r = this.replicas[i];
      r.observation = o;
      r.markedDown = undefined;
      r.coveredAt = o.position && this.primary.known ? this.primary.coveredAt(o.position) : undefined;
    });
    this.checkedAt = Date.now();
    this.publish();
  }

  private async samplePrimary(): Promise<void> {
    const at = Date.now();
    try {
      const pos = await primaryPosition(this.connections, this.config.db.write);
      if (pos === null) {
        this.gtid = false;
        this.logger.log('the primary has no MariaDB GTID position (MySQL): replica lag is read from Seconds_Behind_Source');
        return;
      }
      this.primary.record(parseGtidPosition(pos), at);
      if (!this.primaryAnswered) this.logger.log('the primary answers again: replica lag is measured against it again');
      this.primaryAnswered = true;
    } catch (err) {
      this.primary.unreachable();
      if (this.primaryAnswered) {
        this.logger.warn({ err: (err as Error).message }, 'the primary does not answer: replicas are judged against its last known position');
      }
      this.primaryAnswered = false;
    }
  }

  private verdict(r: Replica, now: number): LagVerdict {
    if (r.isPrimary) return { state: 'ok', inPool: true, lagSeconds: 0 };
    if (r.markedDown) return { state: 'down', inPool: false, lagSeconds: null };
    return judgeReplica(r.observation, r.coveredAt, this.primary, now, this.maxLagMs);
  }

  private statusOf(r: Replica, now: number): ReplicaStatus {
    const v = this.verdict(r, now);
    const o = r.observation;
    const error = r.markedDown ?? o?.error;
    return {
      host: r.label,
      up: r.isPrimary || (!r.markedDown && (o?.reachable ?? true)),
      state: v.state,
      inPool: v.inPool,
      lagSeconds: v.lagSeconds,
      ioThread: o?.ioThread ?? null,
      sqlThread: o?.sqlThread ?? null,
      secondsBehindMaster: o?.secondsBehindMaster ?? null,
      checkedAt: o ? new Date(o.at).toISOString() : null,
      ...(error ? { error } : {}),
    };
  }

  /** Metrics, and one log line per change: a replica in or out of the pool, and no replica at all. */
  private publish(): void {
    const now = Date.now();
    const maxLagSeconds = this.config.db.replicaMaxLagS;
    for (const r of this.replicas) {
      const s = this.statusOf(r, now);
      dbReplicaLagSeconds.set({ replica: s.host }, s.lagSeconds ?? NaN);
      dbReplicaInPool.set({ replica: s.host }, s.inPool ? 1 : 0);
      if (r.wasInPool === true && !s.inPool) {
        const { host, state, lagSeconds, ioThread, sqlThread, error } = s;
        this.logger.warn({ replica: host, state, lagSeconds, maxLagSeconds, ioThread, sqlThread, error }, 'replica taken out of the read pool');
      }
      if (r.wasInPool === false && s.inPool) this.logger.log({ replica: s.host, lagSeconds: s.lagSeconds }, 'replica back in the read pool');
      r.wasInPool = s.inPool;
    }
    const any = this.replicas.some((r) => r.wasInPool);
    dbReplicaUp.set(any ? 1 : 0);
    // A process starting while every replica is behind cannot date them yet (it has seen no earlier position of the
    // primary): not a change worth a warning, and a CLI command's stderr stays its own.
    if (this.wasAvailable === undefined && !any) this.logger.log({ replicas: this.status }, 'no replica usable at start-up: reads go to the primary');
    if (this.wasAvailable === true && !any) this.logger.warn({ replicas: this.status }, 'no replica usable: reads go to the primary');
    if (this.wasAvailable === false && any) this.logger.log('a replica is usable again: reads go back to the replicas');
    this.wasAvailable = any;
  }
}
