export type ReplicationMode = 'master' | 'slave';
export type DbRole = 'primary' | 'replica';

export interface RoutingInput {
  requested: ReplicationMode;
  stickyEnabled: boolean;
  unitWrote: boolean;
  userWithinWindow: boolean;
  replicaAvailable: boolean;
}

/** Where a query runner goes. Pure, so the rules are unit-tested on their own. */
export function routeQueryRunner(i: RoutingInput): ReplicationMode {
  if (i.requested === 'master') return 'master';
  if (!i.replicaAvailable) return 'master';
  if (i.stickyEnabled && (i.unitWrote || i.userWithinWindow)) return 'master';
  return 'slave';
}

export function roleOf(mode: ReplicationMode): DbRole {
  return mode === 'master' ? 'primary' : 'replica';
}

const NON_WRITING = /^\s*(\(?\s*select|show|describe|desc|explain|with|start\s+transaction|begin|commit|rollback|set|savepoint|release|xa\s)/i;

/** True for statements that change data (what makes a unit of work sticky). */
export function isWriteStatement(sql: string): boolean {
  return !NON_WRITING.test(sql);
}

/** The statement's verb for metrics labels (bounded cardinality). */
export function operationOf(sql: string): string {
  const verb = /^\s*\(?\s*([a-z]+)/i.exec(sql)?.[1]?.toLowerCase() ?? 'other';
  return ['select', 'insert', 'update', 'delete', 'replace'].includes(verb) ? verb : verb === 'start' || verb === 'commit' || verb === 'rollback' ? 'transaction' : 'other';
}

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'POOL_NOEXIST',
  'POOL_NONEONLINE',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

/** A failure to reach the server, as opposed to an error in the statement. */
export function isConnectionError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: string; driverError?: { code?: string }; message?: string; fatal?: boolean };
  const code = e.code ?? e.driverError?.code;
  if (code && CONNECTION_ERRORS.has(code)) return true;
  if (e.fatal) return true;
  return /Pool does not exist|Pool does not have online node|connect ETIMEDOUT|Connection lost|closed state/i.test(e.message ?? '');
}
