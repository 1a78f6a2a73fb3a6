import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { createConnection } from 'mysql2/promise';
import { AppConfig, DbHost } from '../../config/app-config';
import { dbReplicaUp } from '../metrics/metrics';

/**
 * /up under load asks far more often than a replica changes state: a probe that finished this recently
 * answers it (bench/http: a fresh connection per /up cost about 15% of its CPU). markDown() still
 * shows at once, since the current state is returned.
 */
export const PROBE_REUSE_MS = 250;

export interface ReplicaStatus {
  host: string;
  up: boolean;
  lagSeconds: number | null;
  error?: string;
}

/**
 * Watches the replicas with a connection of its own (outside the pool) so
 * reads go to the primary while none answers and return when one does.
 */
@Injectable()
export class ReplicaHealth implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ReplicaHealth.name);
  private timer?: NodeJS.Timeout;
  private statuses: ReplicaStatus[];
  private checking?: Promise<ReplicaStatus[]>;
  private checkedAt = 0;
  /** When the read pool is the write host itself there is no replica to watch. */
  private readonly separateReplicas: boolean;

  constructor(private readonly config: AppConfig) {
    const w = config.db.write;
    this.separateReplicas = config.db.read.some((r) => r.host !== w.host || r.port !== w.port);
    this.statuses = config.db.read.map((r) => ({ host: `${r.host}:${r.port}`, up: true, lagSeconds: null }));
    dbReplicaUp.set(1);
  }

  onModuleInit(): void {
    if (!this.separateReplicas) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reads may use a replica: at least one answered its last check. */
  get available(): boolean {
    return this.statuses.some((s) => s.up);
  }

  get status(): ReplicaStatus[] {
    return this.statuses;
  }

  /** A read on a replica failed to connect: stop using replicas until the next check passes. */
  markDown(reason: string): void {
    if (!this.available) return;
    this.logger.warn({ reason }, 'replica unreachable: reads go to the primary');
    this.statuses = this.statuses.map((s) => ({ ...s, up: false, error: reason }));
    dbReplicaUp.set(0);
  }

  /**
   * Checks every replica now: one check at a time, shared by concurrent callers, and the current
   * state when the last check finished less than PROBE_REUSE_MS ago.
   */
  check(): Promise<ReplicaStatus[]> {
    if (!this.checking && Date.now() - this.checkedAt < PROBE_REUSE_MS) return Promise.resolve(this.statuses);
    this.checking ??= Promise.all(this.config.db.read.map((r) => this.probe(r)))
      .then((statuses) => {
        const wasAvailable = this.available;
        this.statuses = statuses;
        this.checkedAt = Date.now();
        const now = this.available;
        dbReplicaUp.set(now ? 1 : 0);
        if (wasAvailable && !now) this.logger.warn({ statuses }, 'no replica answers: reads go to the primary');
        if (!wasAvailable && now) this.logger.log('a replica answers again: reads go back to the replicas');
        return statuses;
      })
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async probe(r: DbHost): Promise<ReplicaStatus> {
    const host = `${r.host}:${r.port}`;
    let conn: Awaited<ReturnType<typeof createConnection>> | undefined;
    try {
      conn = await createConnection({
        host: r.host,
        port: r.port,
        user: this.config.db.username,
        password: this.config.db.password,
        connectTimeout: 1000,
        // mysql2 sizes each connection's statement cache up front (four arrays of this length, 512 KB at
        // the default 16,000): one probe a second made that much garbage a second. The probe prepares nothing.
        maxPreparedStatements: 1,
      });
      const [rows] = await conn.query({ sql: 'SHOW SLAVE STATUS', timeout: 1000 });
      const row = (rows as Array<Record<string, unknown>>)[0];
      const lag = row?.Seconds_Behind_Master;
      return { host, up: true, lagSeconds: lag === null || lag === undefined ? null : Number(lag) };
    } catch (err) {
      return { host, up: false, lagSeconds: null, error: (err as Error).message };
    } finally {
      conn?.destroy();
    }
  }
}
