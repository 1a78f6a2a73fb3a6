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
 * Append a batch of events: each gets the next global id and lands in every
 * one of its rooms' streams under that id, each room trimmed to SSE_HISTORY + 1
 * entries by the XADD itself (MAXLEN =), then is published for live delivery.
 * The extra, oldest entry of a full stream stands for the newest trimmed id
 * (readAfter: a read that reaches it has a gap), so a gap is detected precisely,
 * not guessed, without the XLEN/XRANGE/SET/XTRIM per event an explicit marker
 * cost (about a third of an append's Redis time once a room's history is full).
 * Each stream's TTL is refreshed once per batch. One round
 * trip and one epoch check for the whole batch, atomic: an event is in
 * history before anyone can see it live. Every event also goes to one global
 * stream, from which an api process fills any id it did not get on the
 * channel (a subscriber that Redis dropped).
 * Ids are above 2^32, past Lua's default number format: they are formatted with %.0f.
 * KEYS[1] = seq, KEYS[2] = epoch, KEYS[3] = global stream, KEYS[4..] = the batch's room streams (one hash tag);
 * ARGV = maxlen, ttlMs, channel, global maxlen, event count, the fan-out command: PUBLISH or SPUBLISH
 * (Redis 7 sharded pub/sub: on a Cluster only the slot's shard carries the message, where a PUBLISH is
 * broadcast over the cluster bus to every node), then per event: its room count, the KEYS index of each
 * of its rooms, its body. Returns the ids in order.
 */
const PUBLISH_LUA = `${EPOCH_LUA}
local maxlen = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local channel = ARGV[3]
local epochText = string.format('%.0f', epoch)
local ids = {}
local publish = ARGV[6]
local kept = maxlen + 1
local touched = {}
local a = 7
for e = 1, tonumber(ARGV[5]) do
  local nrooms = tonumber(ARGV[a])
  local body = ARGV[a + nrooms + 1]
  local id = string.format('%.0f', redis.call('INCR', KEYS[1]))
  local sid = id .. '-0'
  for r = 1, nrooms do
    local k = tonumber(ARGV[a + r])
    redis.call('XADD', KEYS[k], 'MAXLEN', kept, sid, 'e', body)
    touched[k] = true
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], sid, 'e', body)
  redis.call(publish, channel, id .. ' ' .. epochText .. '\\n' .. body)
  ids[e] = id
  a = a + nrooms + 2
end
for k in pairs(touched) do
  redis.call('PEXPIRE', KEYS[k], ttl)
end
return ids
`;

/**
 * Events appended in one turn of the event loop go to Redis in one script
 * call (up to this many). A worker announcing job:started and job:completed
 * for many short jobs, or a busy chat, paid a script call, an epoch check and
 * a command's client-side cost per event (bench/queues: 0.3x bare BullMQ).
 */
const MAX_BATCH = 128;

/**
 * The room whose stream keeps a room's history. A job room's events all go to its queue's room as
 * well (JobAnnouncer), so the queue's stream keeps them: one stream per queue instead of one per job,
 * which lived for the history TTL (24 h) and took ~1.3 KB of Redis per job (11 GB a day at 100 jobs/s),
 * and creating it was most of an announcement's Redis time. A read for the job room takes the queue
 * stream's events that were sent to the job room; the queue stream's trim tells a job-room reader of a
 * gap (sometimes when none of the trimmed events were the job's: the client refetches, nothing is lost).
 */
export function historyRoomOf(room: string): string {
  if (!room.startsWith('job:')) return room;
  const idAt = room.lastIndexOf(':');
  return idAt > 4 ? `queue:${room.slice(4, idAt)}` : room;
}

/** Global stream length: enough for a subscriber outage of several seconds at full rate. */
const GLOBAL_HISTORY = 50000;

type WithPublish = RedisClient & {
  rtPublishMany(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
};

interface PendingEvent {
  rooms: string[];
  body: string;
  resolve: (id: number) => void;
  reject: (err: unknown) => void;
}

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
  /**
   * Collect appends this long (ms) into one script call instead of one event-loop turn (0, the default:
   * the api's chat and fan-out latency). queue:work sets it: a short job's events otherwise cost a round
   * trip, a wake-up and a script call of their own per job (bench/queues), BullMQ's one per job besides.
   */
  coalesceMs?: number;
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
  private pending: PendingEvent[] = [];
  private flushScheduled = false;
  private flushTimer: NodeJS.Timeout | undefined;

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
    if (!(redis as unknown as Partial<WithPublish>).rtPublishMany) redis.defineCommand('rtPublishMany', { lua: PUBLISH_LUA });
  }

  streamKey(room: string): string {
    return `${this.opts.prefix}{${this.opts.shardTag ?? 'rt'}}:room:${room}`;
  }

  /**
   * Resolves once the event has its id, is in its rooms' history and is
   * published. Events appended in the same turn of the event loop (or within
   * `coalesceMs`) share one round trip and get their ids in the order of the calls.
   */
  append(rooms: string[], eventType: string, payload: Record<string, unknown>, target: RealtimeTarget): Promise<LoggedEvent> {
    const unique = [...new Set(rooms)];
    const timestamp = new Date().toISOString();
    const body = JSON.stringify({ eventType, timestamp, payload, target, rooms: unique });
    return new Promise<LoggedEvent>((resolve, reject) => {
      this.pending.push({ rooms: unique, body, resolve: (id) => resolve({ id, eventType, timestamp, payload, target, rooms: unique }), reject });
      const coalesceMs = this.opts.coalesceMs ?? 0;
      // A full batch does not wait for the rest of the window.
      if (coalesceMs > 0 && this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        if (coalesceMs > 0) this.flushTimer = setTimeout(() => this.flush(), coalesceMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.pending.length) this.send(this.pending.splice(0, MAX_BATCH));
  }

  private send(batch: PendingEvent[]): void {
    const keys = [this.seqKey, this.epochKey, this.globalKey];
    const keyIndex = new Map<string, number>();
    const args: (string | number)[] = [this.opts.historyPerRoom, this.opts.historyTtlMs, this.channel, GLOBAL_HISTORY, batch.length, this.opts.shardedPubSub ? 'SPUBLISH' : 'PUBLISH'];
    for (const e of batch) {
      const streams = new Set<number>();
      for (const room of e.rooms) {
        const key = this.streamKey(historyRoomOf(room));
        let index = keyIndex.get(key);
        if (index === undefined) {
          index = keys.push(key);
          keyIndex.set(key, index);
        }
        streams.add(index);
      }
      args.push(streams.size, ...streams);
      args.push(e.body);
    }
    (this.redis as unknown as WithPublish).rtPublishMany(keys.length, ...keys, ...args).then(
      (ids) => batch.forEach((e, i) => e.resolve(Number(ids[i]))),
      (err: unknown) => batch.forEach((e) => e.reject(err)),
    );
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
    const wanted = new Set(rooms);
    const streams = [...new Set(rooms.map(historyRoomOf))];
    const pipeline = this.redis.pipeline();
    pipeline.get(this.seqKey);
    pipeline.hget(this.epochKey, 'start');
    for (const room of streams) {
      pipeline.get(`${this.streamKey(room)}:trimmed`);
      pipeline.xrange(this.streamKey(room), `(${afterId}-0`, '+', 'COUNT', this.opts.historyPerRoom + 1);
    }
    const [[seqErr, seq] = [], [epochErr, epoch] = [], ...results] = (await pipeline.exec()) ?? [];
    if (seqErr || epochErr) throw (seqErr ?? epochErr) as Error;
    const byId = new Map<number, LoggedEvent>();
    let gap = afterId > Number(seq ?? 0) || (epoch !== null && epoch !== undefined && afterId > 0 && afterId < Number(epoch));
    for (let i = 0; i < streams.length; i++) {
      const [trimErr, trimmed] = results[2 * i] ?? [];
      const [rangeErr, entries] = results[2 * i + 1] ?? [];
      if (trimErr || rangeErr) throw (trimErr ?? rangeErr) as Error;
      // `:trimmed` is the marker streams written before the kept-entry rule carry (until they expire).
      if (trimmed !== null && trimmed !== undefined && Number(trimmed) > afterId) gap = true;
      const found = (entries ?? []) as [string, string[]][];
      // More than SSE_HISTORY entries after afterId: the read reached the oldest, kept entry of a full
      // stream, which stands for the newest trimmed one (PUBLISH_LUA), so something after afterId is gone.
      if (found.length > this.opts.historyPerRoom) gap = true;
      for (const [streamId, fields] of found) {
        const id = Number(streamId.split('-')[0]);
        if (byId.has(id)) continue;
        const event = parseEntry(id, fields);
        // A stream shared by several rooms (historyRoomOf) holds events some of the reader's rooms never got.
        if (event.rooms.some((r) => wanted.has(r))) byId.set(id, event);
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
