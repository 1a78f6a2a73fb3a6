import type { Command } from 'ioredis';
import type { RedisClient } from '../redis/redis.factory';

/** What one script call does to the hash, decoded from its arguments as the script reads them. */
export interface HashOps {
  incr: [string, number][];
  set: string[];
  del: string[];
}

export function decodeHashOps(args: unknown[]): HashOps {
  const [, numKeys, , ...argv] = args as [string, number | string, string, ...(string | number)[]];
  if (Number(numKeys) !== 1) throw new Error(`the script takes one key, not ${numKeys}`);
  let i = 0;
  const incr: [string, number][] = [];
  for (let n = Number(argv[i++]); n > 0; n--, i += 2) incr.push([String(argv[i]), Number(argv[i + 1])]);
  const set: string[] = [];
  for (let n = Number(argv[i++]); n > 0; n--) set.push(String(argv[i++]));
  return { incr, set, del: argv.slice(i).map(String) };
}

/** What one command of ProcessHashChanges does to the hash: its script, or a plain HSET or HDEL. */
export function decodeHashCommand(command: Command): HashOps {
  const [, ...rest] = command.args.map(String);
  if (command.name === 'eval') return decodeHashOps(command.args);
  if (command.name === 'hset') return { incr: [], set: rest.filter((_, i) => i % 2 === 0), del: [] };
  if (command.name === 'hdel') return { incr: [], set: [], del: rest };
  throw new Error(`unexpected ${command.name}`);
}

/**
 * `sendCommand` of a connection, recording what ProcessHashChanges' commands do (it sends nothing
 * else); `fail` makes a call fail as a lost connection does.
 */
export function changesSender(calls: HashOps[], opts: { fail?: () => boolean; sent?: (ops: HashOps) => void } = {}) {
  return (command: Command): unknown => {
    const ops = decodeHashCommand(command);
    calls.push(ops);
    opts.sent?.(ops);
    const c = command as unknown as { resolve(v: unknown): void; reject(e: Error): void };
    if (opts.fail?.()) c.reject(new Error('Redis went away'));
    else c.resolve(1);
    return command.promise;
  };
}

/** A connection that only records the hash changes' script calls. */
export function changesRecorder(opts: { fail?: () => boolean } = {}): { redis: RedisClient; calls: HashOps[] } {
  const calls: HashOps[] = [];
  return { redis: { sendCommand: changesSender(calls, opts) } as unknown as RedisClient, calls };
}
