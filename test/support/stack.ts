/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';

/** The services npm test started (or was given): the variables scripts/test.js passed down. */
export function stackEnv(): Record<string, string> {
  const keys = ['DB_WRITE_HOST', 'DB_WRITE_PORT', 'DB_READ_HOST', 'DB_DATABASE', 'DB_USERNAME', 'DB_PASSWORD', 'REDIS_URL'];
  const env: Record<string, string> = {};
  for (const k of keys) if (process.env[k] !== undefined) env[k] = process.env[k] as string;
  if (!env.DB_WRITE_HOST || !env.REDIS_URL) throw new Error('e2e tests run through `npm test`, which starts the services and sets DB_*/REDIS_URL');
  return env;
}

export interface StackControl {
  stop(name: string, svc: 'primary' | 'replica' | 'redis'): Promise<void>;
  start(name: string, svc: 'primary' | 'replica' | 'redis'): Promise<void>;
  sql(name: string, svc: 'primary' | 'replica', sql: string): Promise<string>;
  redisCli(name: string, args: string[]): Promise<string>;
  waitReplicaCaughtUp(name: string, timeoutMs: number): Promise<void>;
}

/** The name of our own stack, or null when the tests run against given services (fault drills then skip). */
export function ownStack(): { name: string; control: StackControl } | null {
  const name = process.env.SWITCHBOARD_STACK;
  if (!name) return null;
  return { name, control: require(join(__dirname, '..', '..', 'scripts', 'stack.js')) as StackControl };
}
