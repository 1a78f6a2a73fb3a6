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

/** A connection of the probe's own, outside the pools: a probe must never wait behind application queries. */
async function withConnection<T>(h: DbHost, c: ProbeCredentials, fn: (conn: Connection) => Promise<T>): Promise<T> {
  let conn: Connection | undefined;
  try {
    conn = await createConnection({
      host: h.host,
      port: h.port,
      user: c.user,
      password: c.password,
      connectTimeout: TIMEOUT_MS,
      // mysql2 sizes each connection's statement cache up front (four arrays of this length, 512 KB at
      // the default 16,000): one probe a second made that much garbage a second. The probe prepares nothing.
      maxPreparedStatements: 1,
    });
    return await fn(conn);
  } finally {
    conn?.destroy();
  }
}

async function rows(conn: Connection, sql: string): Promise<Row[]> {
  const [result] = await conn.query({ sql, timeout: TIMEOUT_MS });
  return result as Row[];
}

/** The primary's `@@gtid_binlog_pos`; null on a server without MariaDB GTIDs (MySQL). Throws when it cannot be reached. */
export function primaryPosition(h: DbHost, c: ProbeCredentials): Promise<string | null> {
  return withConnection(h, c, async (conn) => {
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
export async function observeReplica(h: DbHost, c: ProbeCredentials, withPosition: boolean): Promise<ReplicaObservation> {
  const at = Date.now();
  try {
    return await withConnection(h, c, async (conn) => {
      const threads = await replicationThreads(conn);
      const position = withPosition ? parseGtidPosition(textOf((await rows(conn, 'SELECT @@GLOBAL.gtid_slave_pos AS pos'))[0]?.pos) ?? '') : undefined;
      return { reachable: true, ...threads, position, at };
    });
  } catch (err) {
    return { reachable: false, ioThread: null, sqlThread: null, secondsBehindMaster: null, at, error: (err as Error).message };
  }
}
