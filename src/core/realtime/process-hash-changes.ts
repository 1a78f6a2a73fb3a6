import { Command } from 'ioredis';
import type { RedisClient } from '../redis/redis.factory';

/**
 * Fields per script call: a turn that closes thousands of sockets blocks Redis in short steps, and
 * Lua's `unpack` stays far below its stack limit.
 */
const CHUNK = 500;

/**
 * KEYS[1] = the process hash. ARGV: the number of counters n, then n (field, delta) pairs
 * (HINCRBY), then the number of fields to set m, then m fields (set to '1', one HSET), then the
 * fields to delete (one HDEL). One script call instead of a MULTI per counter change: the counters
 * of a turn change together for the slot script that sums them.
 */
const APPLY_LUA = `
local key = KEYS[1]
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local sets = tonumber(ARGV[i])
i = i + 1
if sets > 0 then
  local fields = {}
  for j = 0, sets - 1 do
    fields[2 * j + 1] = ARGV[i + j]
    fields[2 * j + 2] = '1'
  end
  redis.call('HSET', key, unpack(fields))
  i = i + sets
end
if i <= #ARGV then
  redis.call('HDEL', key, unpack(ARGV, i, #ARGV))
end
return 1
`;

/**
 * Changes to one api process's hash (ClusterState's `rt:proc:<instance>`): counters given back
 * (a connection slot's `total` and `ip:` fields) and presence fields set or deleted, gathered over
 * one turn of the event loop and sent at setImmediate as one script call. A MULTI per closed
 * socket (and an HDEL per user gone) was most of a socket's close cost: a Pipeline object per
 * socket (it copies every script defined on the connection), a socket write and a reply each
 * (bench:setup, issue 18). The call goes straight to `sendCommand`: no Pipeline either, and, unlike
 * an auto-pipelined command, it leaves before anything sent after it (a heartbeat's MULTI).
 *
 * Within a turn the last change of a presence field wins, so a user who leaves and comes back in
 * the same turn stays online. `flush()` sends what is pending at once: whatever writes the hash
 * from memory (a heartbeat) calls it first, on the same connection, so a change never lands after
 * a write that already counts it. Nothing is sent after `close()`.
 */
export class ProcessHashChanges {
  private readonly counters = new Map<string, number>();
  /** Presence fields: true = set, false = delete. */
  private readonly fields = new Map<string, boolean>();
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    /** A write that failed: whatever it held may or may not be in Redis. */
    private readonly failed: () => void,
  ) {}

  increment(field: string, by: number): void {
    if (this.closed) return;
    this.counters.set(field, (this.counters.get(field) ?? 0) + by);
    this.schedule();
  }

  set(field: string): void {
    if (this.closed) return;
    this.fields.set(field, true);
    this.schedule();
  }

  delete(field: string): void {
    if (this.closed) return;
    this.fields.set(field, false);
    this.schedule();
  }

  /** Sends what is pending now (before a write that must come after it). */
  flush(): void {
    if (!this.counters.size && !this.fields.size) return;
    const counters: [string, number][] = [];
    this.counters.forEach((by, field) => by !== 0 && counters.push([field, by]));
    const sets: string[] = [];
    const deletes: string[] = [];
    this.fields.forEach((on, field) => (on ? sets : deletes).push(field));
    this.counters.clear();
    this.fields.clear();
    // Counters first and together: the slot script reads `total` and the `ip:` fields at once.
    for (let c = 0, s = 0, d = 0; c < counters.length || s < sets.length || d < deletes.length; ) {
      const cs = counters.slice(c, (c = Math.min(counters.length, c + CHUNK)));
      const room = CHUNK - cs.length;
      const ss = sets.slice(s, (s = Math.min(sets.length, s + room)));
      const ds = deletes.slice(d, (d = Math.min(deletes.length, d + room - ss.length)));
      const call = this.command(cs, ss, ds);
      call.promise.catch(this.failed);
      this.redis.sendCommand(call);
    }
  }

  /**
   * A plain HSET or HDEL when that is all there is (a turn of handshakes: users coming online), as
   * presence was written before the close path was batched; the script when counters change.
   */
  private command(counters: [string, number][], sets: string[], deletes: string[]): Command {
    if (!counters.length && !deletes.length) return new Command('hset', [this.key, ...sets.flatMap((f) => [f, '1'])]);
    if (!counters.length && !sets.length) return new Command('hdel', [this.key, ...deletes]);
    return new Command('eval', [APPLY_LUA, 1, this.key, counters.length, ...counters.flat(), sets.length, ...sets, ...deletes]);
  }

  /** Pending changes are dropped and later ones ignored: the hash is being removed. */
  close(): void {
    this.closed = true;
    this.counters.clear();
    this.fields.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }
}
