import { createConnection } from 'mysql2/promise';
import type { DbHost } from '../../config/app-config';
import { parseGtidPosition } from './gtid';
import type { ReplicaObservation } from './replication-lag';

type Connection = Awaited<ReturnType<typeof createConnection>>;
type Row = Record<string, unknown>;

export interface ProbeCredentials {
  user: string;
  password: string;
}

const ER_PARSE_ERROR = 1064;
const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;
/** ER_ACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR. */
const ACCESS_DENIED = new Set([1045, 1142, 1227]);
const TIMEOUT_MS = 1000;

const errnoOf = (err: unknown) => (err as { errno?: number } | undefined)?.errno;

/** A column value as text: strings and numbers as they are, anything else (NULL) as null. */
function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

/**
 * The probes' connections, one per server, kept from one probe to the next and outside the pools: a probe
 * must never wait behind application queries. Opening a fresh one per probe cost every process (queue
 * workers too, which rarely read) a TCP connect, handshake and authentication per server per second. A
 * connection that fails in any way is dropped; when a kept one fails, the probe is made again at once on a
 * new connection, so the verdict is still what a fresh connection sees now (a server that restarted since
 * the last probe answers, a hung one does not).
 */
export class ProbeConnections {
  private readonly kept = new Map<string, Connection>();
  /** After close(): a probe still under way does not keep its connection. */
  private closed = false;

  constructor(private readonly credentials: ProbeCredentials) {}

  async with<T>(h: DbHost, fn: (conn: Connection) => Promise<T>): Promise<T> {
    const key = `${h.host}:${h.port}`;
    const reused = this.kept.get(key);
    if (reused) {
      try {
        return await fn(reused);
      } catch {
        this.drop(key, reused);
      }
    }
    const conn = await this.open(h, key);
    try {
      const result = await fn(conn);
      if (this.closed) conn.destroy();
      else this.kept.set(key, conn);
      return result;
    } catch (err) {
      this.drop(key, conn);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    for (const [key, conn] of this.kept) this.drop(key, conn);
  }

  private async open(h: DbHost, key: string): Promise<Connection> {
    const conn = await createConnection({
      host: h.host,
      port: h.port,
      user: this.credentials.user,
      password: this.credentials.password,
      connectTimeout: TIMEOUT_MS,
      // mysql2 sizes each connection's statement cache up front (four arrays of this length, 512 KB at
      // the default 16,000). The probe prepares nothing.
      maxPreparedStatements: 1,
    });
    // Closed by the server between probes (a restart, wait_timeout): an 'error' nobody listens to would throw.
    conn.on('error', () => this.drop(key, conn));
    conn.on('end', () => this.drop(key, conn));
    return conn;
  }

  private drop(key: string, conn: Connection): void {
    if (this.kept.get(key) === conn) this.kept.delete(key);
    conn.destroy();
  }
}

async function rows(conn: Connection, sql: string): Promise<Row[]> {
  const [result] = await conn.query({ sql, timeout: TIMEOUT_MS });
  return result as Row[];
}

/** The primary's `@@gtid_binlog_pos`; null on a server without MariaDB GTIDs (MySQL). Throws when it cannot be reached. */
export function primaryPosition(connections: ProbeConnections, h: DbHost): Promise<string | null> {
  return connections.with(h, async (conn) => {
    try {
      return textOf((await rows(conn, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos'))[0]?.pos) ?? '';
    } catch (err) {
      if (errnoOf(err) === ER_UNKNOWN_SYSTEM_VARIABLE) return null;
      throw err;
    }
  });
}

/** Replication threads and Seconds_Behind_Master, under MariaDB's and MySQL 8's column names. */
async function replicationThreads(conn: Connection): Promise<Pick<ReplicaObservation, 'ioThread' | 'sqlThread' | 'secondsBehindMaster' | 'error'>> {
  let status: Row[];
  try {
    // MariaDB >= 10.5.1 and MySQL >= 8.0.22; MySQL 8.4 no longer knows SHOW SLAVE STATUS.
    status = await rows(conn, 'SHOW REPLICA STATUS');
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === ER_PARSE_ERROR) status = await rows(conn, 'SHOW SLAVE STATUS');
    else if (errno !== undefined && ACCESS_DENIED.has(errno)) {
      return { ioThread: null, sqlThread: null, secondsBehindMaster: null, error: `replication threads unreadable (grant REPLICATION CLIENT, or REPLICA MONITOR on MariaDB): ${(err as Error).message}` };
    } else throw err;
  }
  const row = status[0];
  if (!row) return { ioThread: null, sqlThread: null, secondsBehindMaster: null, error: 'not replicating (SHOW REPLICA STATUS is empty)' };
  const behind = textOf(row.Seconds_Behind_Master ?? row.Seconds_Behind_Source);
  return {
    ioThread: textOf(row.Slave_IO_Running ?? row.Replica_IO_Running),
    sqlThread: textOf(row.Slave_SQL_Running ?? row.Replica_SQL_Running),
    secondsBehindMaster: behind === null ? null : Number(behind),
  };
}

/** One look at a replica: does it answer, its threads, and (MariaDB) the GTID position it has applied. */
export async function observeReplica(connections: ProbeConnections, h: DbHost, withPosition: boolean): Promise<ReplicaObservation> {
  const at = Date.now();
  try {
    return await connections.with(h, async (conn) => {
      const threads = await replicationThreads(conn);
      const position = withPosition ? parseGtidPosition(textOf((await rows(conn, 'SELECT @@GLOBAL.gtid_slave_pos AS pos'))[0]?.pos) ?? '') : undefined;
      return { reachable: true, ...threads, position, at };
    });
  } catch (err) {
    return { reachable: false, ioThread: null, sqlThread: null, secondsBehindMaster: null, at, error: (err as Error).message };
  }
}
