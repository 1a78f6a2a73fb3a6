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
