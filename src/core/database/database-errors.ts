import { QueryFailedError } from 'typeorm';

/** mysql2's and the server's codes for a connection that cannot be had or was dropped. */
const UNREACHABLE_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'POOL_NOEXIST',
  'POOL_NONEONLINE',
  'POOL_CLOSED',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

/** Query runners of one role (primary, or per replica) that may wait for a connection at once in a process. */
export const CONNECTION_WAIT_LIMIT = 1000;

/**
 * Too many requests of this process already wait for a database connection (CONNECTION_WAIT_LIMIT,
 * counted by ReplicationRouter before it asks mysql2): the process is overloaded, not the database
 * down. Not mysql2's own `queueLimit`: its PoolCluster counts "Queue limit reached." as an error of the
 * node, and with `removeNodeErrorCount: 1` (data-source-options.ts) took the primary offline for
 * `restoreNodeTimeout` — one burst of load made every write fail `Database unavailable` for a second.
 */
export class DatabaseBusyError extends Error {
  constructor() {
    super('Too many requests are waiting for a database connection');
    this.name = 'DatabaseBusyError';
  }
}

/**
 * A request shed for load (DatabaseBusyError), or mysql2's pool refusing to queue one more request for a
 * connection (`queueLimit`, off in data-source-options.ts; kept for a pool configured with one). mysql2
 * gives that error no code; its text is the library's own constant (mysql2/lib/base/pool.js).
 */
export function isDatabaseBusy(err: unknown): boolean {
  const e: unknown = err instanceof QueryFailedError ? err.driverError : err;
  if (e instanceof DatabaseBusyError) return true;
  return e instanceof Error && (e as { code?: unknown }).code === undefined && e.message === 'Queue limit reached.';
}

/**
 * A failure to reach the database, as opposed to an error in the statement:
 * by mysql2's codes and its documented `fatal` flag (set on every error that
 * ended the connection: refused, timed out, reset, lost). A bare network code
 * such as ECONNREFUSED is not enough: Redis' connection errors carry it too.
 * TypeORM wraps what a query throws in QueryFailedError, with mysql2's error
 * as `driverError`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e: unknown = err instanceof QueryFailedError ? err.driverError : err;
  if (e === null || typeof e !== 'object') return false;
  const { code, fatal } = e as { code?: unknown; fatal?: unknown };
  return (typeof code === 'string' && UNREACHABLE_CODES.has(code)) || fatal === true;
}
