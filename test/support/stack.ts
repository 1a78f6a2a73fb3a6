/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';

/** The services npm test started (or was given): the variables scripts/test.js passed down. */
export function stackEnv(): Record<string, string> {
  const keys = ['DB_WRITE_HOST', 'DB_WRITE_PORT', 'DB_READ_HOST', 'DB_DATABASE', 'DB_USERNAME', 'DB_PASSWORD', 'REDIS_URL', 'STACK_REDIS', 'STACK_REPLICAS', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_CLUSTER_NODES'];
  const env: Record<string, string> = {};
  for (const k of keys) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  if (!env.DB_WRITE_HOST || !env.REDIS_URL) throw new Error('e2e tests run through `npm test`, which starts the services and sets DB_*/REDIS_URL');
  return env;
}

export type ReplicaService = 'replica' | 'replica2';

/** The stack's replica services, in DB_READ_HOST order (STACK_REPLICAS=2 adds replica2). */
export function replicaServices(): ReplicaService[] {
  const n = stackEnv().DB_READ_HOST?.split(',').length ?? 1;
  return (['replica', 'replica2'] as const).slice(0, n);
}

export interface StackControl {
  stop(name: string, svc: 'primary' | ReplicaService | 'redis'): Promise<void>;
  start(name: string, svc: 'primary' | ReplicaService | 'redis'): Promise<void>;
  sql(name: string, svc: 'primary' | ReplicaService, sql: string): Promise<string>;
  redisCli(name: string, args: string[]): Promise<string>;
  waitReplicaCaughtUp(name: string, timeoutMs: number): Promise<void>;
}

/**
 * Our own stack, for drills that stop and start services. Against given
 * services (DB_WRITE_HOST/REDIS_URL set) there is nothing we may stop, so
 * those drills fail with this message rather than pass without running.
 */
export function ownStack(): { name: string; control: StackControl } {
  const name = process.env.SWITCHBOARD_STACK;
  if (!name) throw new Error('fault drills stop and start services: run them on the project\'s own stack (unset DB_WRITE_HOST, DB_READ_HOST, REDIS_URL)');
  return { name, control: require(join(__dirname, '..', '..', 'scripts', 'stack.js')) as StackControl };
}
