import type { RedisClient } from '../redis/redis.factory';

/** What one script call does to the hash, decoded from its arguments as the script reads them. */
export interface HashOps {
  incr: [string, number][];
  set: string[];
  del: string[];
}

export function decodeHashOps(args: unknown[]): HashOps {
  const [, numKeys, , ...argv] = args as [string, number, string, ...(string | number)[]];
  if (numKeys !== 1) throw new Error(`the script takes one key, not ${numKeys}`);
  let i = 0;
  const incr: [string, number][] = [];
  for (let n = Number(argv[i++]); n > 0; n--, i += 2) incr.push([String(argv[i]), Number(argv[i + 1])]);
  const set: string[] = [];
  for (let n = Number(argv[i++]); n > 0; n--) set.push(String(argv[i++]));
  return { incr, set, del: argv.slice(i).map(String) };
}

/** A connection whose pipelines record their script calls; one entry per exec, one HashOps per call. */
export function pipelineRecorder(opts: { fail?: () => boolean } = {}) {
  const execs: HashOps[][] = [];
  const order: string[] = [];
  const redis = {
    pipeline: () => {
      const calls: HashOps[] = [];
      const p = {
        eval: (...args: unknown[]) => (calls.push(decodeHashOps(args)), p),
        exec: async () => {
          execs.push(calls);
          order.push('changes');
          if (opts.fail?.()) throw new Error('Redis went away');
          return calls.map(() => [null, 1]);
        },
      };
      return p;
    },
  };
  return { redis: redis as unknown as RedisClient, execs, order };
}
