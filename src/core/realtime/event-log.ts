import type { RedisClient } from '../redis/redis.factory';
import type { RealtimeTarget } from './realtime.contract';

/** One event as stored in a room's history and sent on the fan-out channel. */
export interface LoggedEvent {
  /** Global, monotonic (Redis INCR): the Socket.IO `eventId`/offset and the SSE `id:`. */
  id: number;
  /** Where the id's epoch began (ids of this epoch are > epoch); on fan-out messages only. */
  epoch?: number;
  eventType: string;
  timestamp: string;
  payload: Record<string, unknown>;
  target: RealtimeTarget;
  rooms: string[];
}

export interface HistoryRead {
  events: LoggedEvent[];
  /** Some event after `afterId` in one of the rooms has already been trimmed (or the read hit its bound). */
  gap: boolean;
}

/**
 * Epochs (as Centrifuge's stream epochs): Redis replicates asynchronously and may
 * restart from an old or empty data set, so the counter could go back and hand
 * out ids clients already hold. Every id is issued under the run id of the Redis
 * server that issued it; when the server differs from the epoch's (a restart, a
 * promoted replica, data lost), a new epoch starts at the current time in
 * microseconds, above every id issued before (that would take more than a
 * million events a second), so ids never go back. History older than the
 * epoch may be incomplete: a client resuming from before it is told (gap).
 * KEYS[1] = seq, KEYS[2] = epoch hash {run, start}. Sets `epoch` (a number).
 */
const EPOCH_LUA = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local known = redis.call('HMGET', KEYS[2], 'run', 'start')
local epoch = tonumber(known[2])
if known[1] ~= run or not epoch then
  local t = redis.call('TIME')
  epoch = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), tonumber(redis.call('GET', KEYS[1]) or '0'))
  redis.call('SET', KEYS[1], string.format('%.0f', epoch))
  redis.call('HSET', KEYS[2], 'run', run, 'start', string.format('%.0f', epoch))
end
`;

/**
 * Append to every room's stream with the same global id, trim to SSE_HISTORY
 * exactly while remembering the newest trimmed id (so a gap is detected
 * precisely, not guessed), then publish for live delivery. One round trip,
 * atomic: an event is in history before anyone can see it live.
 * Every event also goes to one global stream, from which an api process fills
 * any id it did not get on the channel (a subscriber that Redis dropped).
 * Ids are above 2^32, past Lua's default number format: they are formatted with %.0f.
 * KEYS[1] = seq, KEYS[2] = epoch, KEYS[3] = global stream, KEYS[4..] = room streams (one hash tag);
 * ARGV = maxlen, ttlMs, channel, body, global maxlen, and the fan-out command: PUBLISH (default) or
 * SPUBLISH (Redis 7 sharded pub/sub: on a Cluster only the slot's shard carries the message, where a
 * PUBLISH is broadcast over the cluster bus to every node).
 */
const PUBLISH_LUA = `${EPOCH_LUA}
local id = string.format('%.0f', redis.call('INCR', KEYS[1]))
local sid = id .. '-0'
local maxlen = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
for i = 4, #KEYS do
  local key = KEYS[i]
  redis.call('XADD', key, sid, 'e', ARGV[4])
  local excess = redis.call('XLEN', key) - maxlen
  if excess > 0 then
    local old = redis.call('XRANGE', key, '-', '+', 'COUNT', excess)
    local last = old[#old][1]
    redis.call('SET', key .. ':trimmed', string.sub(last, 1, string.find(last, '-') - 1), 'PX', ttl)
    redis.call('XTRIM', key, 'MAXLEN', maxlen)
  end
  redis.call('PEXPIRE', key, ttl)
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], sid, 'e', ARGV[4])
redis.call(ARGV[6] or 'PUBLISH', ARGV[3], id .. ' ' .. string.format('%.0f', epoch) .. '\\n' .. ARGV[4])
return id
`;

/** Global stream length: enough for a subscriber outage of several seconds at full rate. */
const GLOBAL_HISTORY = 50000;

type WithPublish = RedisClient & {
  rtPublish(numKeys: number, ...args: (string | number)[]): Promise<string>;
};

export interface EventLogOptions {
  prefix: string;
  historyPerRoom: number;
  /** How long an idle room's history is kept. */
  historyTtlMs: number;
  /**
   * The hash tag of every key and of the channel (default `rt`): one log is one Cluster slot. A
   * sharded log (docs/scaling/redis.md, "Sharded fan-out") is one EventLog per tag; bench/redis-shards.js.
   */
  shardTag?: string;
  /** Fan out with SPUBLISH (the subscriber must SSUBSCRIBE) instead of PUBLISH. */
  shardedPubSub?: boolean;
}

/** Event ids, per-room history in Redis streams, and the fan-out channel. Usable from any process. */
export class EventLog {
  readonly channel: string;
  /** Holds the newest id handed out (a plain counter: GET it for the current id). */
  readonly seqKey: string;
  /** Hash {run, start}: the Redis server that issues ids now, and the id its epoch began after. */
  readonly epochKey: string;
  private readonly globalKey: string;
  private inflightId: Promise<number> | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: EventLogOptions,
  ) {
    // One hash tag: the publish script touches the counter, the epoch and every stream at once,
    // which a Redis Cluster allows only within one slot.
    const p = `${opts.prefix}{${opts.shardTag ?? 'rt'}}:`;
    this.channel = `${p}events`;
    this.seqKey = `${p}seq`;
    this.epochKey = `${p}epoch`;
    this.globalKey = `${p}all-events`;
    if (!(redis as unknown as Partial<WithPublish>).rtPublish) redis.defineCommand('rtPublish', { lua: PUBLISH_LUA });
  }

  streamKey(room: string): string {
    return `${this.opts.prefix}{${this.opts.shardTag ?? 'rt'}}:room:${room}`;
  }

  async append(rooms: string[], eventType: string, payload: Record<string, unknown>, target: RealtimeTarget): Promise<LoggedEvent> {
    const unique = [...new Set(rooms)];
    const timestamp = new Date().toISOString();
    const body = JSON.stringify({ eventType, timestamp, payload, target, rooms: unique });
    const keys = [this.seqKey, this.epochKey, this.globalKey, ...unique.map((r) => this.streamKey(r))];
    const id = await (this.redis as unknown as WithPublish).rtPublish(
      keys.length,
      ...keys,
      this.opts.historyPerRoom,
      this.opts.historyTtlMs,
      this.channel,
      body,
      GLOBAL_HISTORY,
      this.opts.shardedPubSub ? 'SPUBLISH' : 'PUBLISH',
    );
    return { id: Number(id), eventType, timestamp, payload, target, rooms: unique };
  }

  /** Events with fromId < id < toId from the global stream (to fill a gap on the channel). */
  async between(fromId: number, toId: number): Promise<LoggedEvent[]> {
    const entries = (await this.redis.xrange(this.globalKey, `(${fromId}-0`, `(${toId}-0`)) as [string, string[]][];
    return entries.map(([streamId, fields]) => parseEntry(Number(streamId.split('-')[0]), fields));
  }

  /** The newest id handed out so far (0 before any event). */
  async currentId(): Promise<number> {
    return Number((await this.redis.get(this.seqKey)) ?? 0);
  }

  /** The newest id and where its epoch began (0 before any event). */
  async position(): Promise<{ id: number; epoch: number }> {
    const [id, epoch] = await Promise.all([this.redis.get(this.seqKey), this.redis.hget(this.epochKey, 'start')]);
    return { id: Number(id ?? 0), epoch: Number(epoch ?? 0) };
  }

  /**
   * An id no newer than the newest one at the time of the call: a read already
   * in flight is shared. Right for a recovery offset taken before the socket
   * joins its rooms (an older offset can only replay more, never miss), and
   * during a connection storm many sockets share one GET instead of one each
   * (less garbage per connection, bench/RESULTS.md).
   */
  offsetForNewSocket(): Promise<number> {
    if (!this.inflightId) {
      this.inflightId = this.currentId().finally(() => {
        this.inflightId = null;
      });
      this.inflightId.catch(() => undefined); // a caller that no longer needs it must not leave it unhandled
    }
    return this.inflightId;
  }

  /**
   * Every event after `afterId` in any of `rooms`, in id order, each once.
   * `gap` is true when history no longer covers everything after `afterId`: trimmed, or
   * `afterId` is from before the current epoch (Redis lost or may have lost what followed it),
   * or beyond the newest id (an id this Redis never issued: its history was lost).
   */
  async readAfter(rooms: string[], afterId: number): Promise<HistoryRead> {
    const unique = [...new Set(rooms)];
    const pipeline = this.redis.pipeline();
    pipeline.get(this.seqKey);
    pipeline.hget(this.epochKey, 'start');
    for (const room of unique) {
      pipeline.get(`${this.streamKey(room)}:trimmed`);
      pipeline.xrange(this.streamKey(room), `(${afterId}-0`, '+', 'COUNT', this.opts.historyPerRoom + 1);
    }
    const [[seqErr, seq] = [], [epochErr, epoch] = [], ...results] = (await pipeline.exec()) ?? [];
    if (seqErr || epochErr) throw (seqErr ?? epochErr) as Error;
    const byId = new Map<number, LoggedEvent>();
    let gap = afterId > Number(seq ?? 0) || (epoch !== null && epoch !== undefined && afterId > 0 && afterId < Number(epoch));
    for (let i = 0; i < unique.length; i++) {
      const [trimErr, trimmed] = results[2 * i] ?? [];
      const [rangeErr, entries] = results[2 * i + 1] ?? [];
      if (trimErr || rangeErr) throw (trimErr ?? rangeErr) as Error;
      if (trimmed !== null && trimmed !== undefined && Number(trimmed) > afterId) gap = true;
      for (const [streamId, fields] of (entries ?? []) as [string, string[]][]) {
        const id = Number(streamId.split('-')[0]);
        if (!byId.has(id)) byId.set(id, parseEntry(id, fields));
      }
    }
    return { events: [...byId.values()].sort((a, b) => a.id - b.id), gap };
  }
}

function parseEntry(id: number, fields: string[]): LoggedEvent {
  const i = fields.indexOf('e');
  return decodeBody(id, fields[i + 1]);
}

export function decodeBody(id: number, body: string): LoggedEvent {
  const parsed = JSON.parse(body) as Omit<LoggedEvent, 'id'>;
  return { id, ...parsed };
}

/** Channel message `<id> <epoch>\n<body>` → event. */
export function decodeChannelMessage(message: string): LoggedEvent {
  const nl = message.indexOf('\n');
  const [id, epoch] = message.slice(0, nl).split(' ');
  const e = decodeBody(Number(id), message.slice(nl + 1));
  if (epoch !== undefined) e.epoch = Number(epoch);
  return e;
}

/** What a client receives: the payload plus the envelope every event carries. */
export function envelope(e: LoggedEvent): Record<string, unknown> {
  return { ...e.payload, eventId: String(e.id), eventType: e.eventType, timestamp: e.timestamp };
}
