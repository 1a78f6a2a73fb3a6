import type { RedisClient } from '../redis/redis.factory';
import { advance, formatPosition, ParsedPosition, parsePosition, Position, positionOfEvent } from './position';
import type { RealtimeTarget } from './realtime.contract';
import { shardOfRoom, shardTags } from './shard-layout';

/** One event as stored in a room's history and sent on the fan-out channel. */
export interface LoggedEvent {
  /** Monotonic within its shard (Redis INCR); with one shard it is the Socket.IO `eventId`/offset and the SSE `id:`. */
  id: number;
  /** The shard whose log issued `id` (0 with one shard). */
  shard?: number;
  /**
   * What goes on the wire as `eventId`, the Socket.IO offset and SSE's `id:`: a position (position.ts).
   * Set by whoever delivers the event (the process's watermark, or a replay's cursor); without it, the id.
   */
  position?: string;
  /** The delivering process's watermark when it delivered this event (position.ts); live events only. */
  watermark?: Position;
  /** Where the id's epoch began (ids of this epoch are > epoch); on fan-out messages only. */
  epoch?: number;
  eventType: string;
  timestamp: string;
  payload: Record<string, unknown>;
  target: RealtimeTarget;
  rooms: string[];
}

export interface HistoryRead {
  /** In replay order (shard by shard, each in id order), each with the `position` a client holds after it. */
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
  rtMarkIncomplete(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
};

/**
 * KEYS[1] = a stream's `:trimmed` marker; ARGV = an id, the marker's TTL (ms). The marker becomes that id
 * (never lower than it was): a read after an older id has a gap (readAfter).
 */
const MARK_INCOMPLETE_LUA = `
local known = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('SET', KEYS[1], string.format('%.0f', math.max(tonumber(ARGV[1]), known)), 'PX', ARGV[2])
`;

/** The control event whose id a room's history is incomplete up to (ShardLog.markIncomplete); HearingKeeper handles it. */
export const HISTORY_INCOMPLETE = 'history:incomplete';

interface PendingEvent {
  rooms: string[];
  body: string;
  eventType: string;
  timestamp: string;
  payload: Record<string, unknown>;
  target: RealtimeTarget;
  resolve: (event: LoggedEvent) => void;
  reject: (err: unknown) => void;
}

/**
 * The publish script's KEYS and ARGV for a batch (PUBLISH_LUA): the log's three keys, then each history
 * stream once (historyRoomOf: a job room and its queue room share the queue's stream); per event its
 * stream count, their KEYS indexes (each stream once per event) and its body. `streamKey` is asked
 * once per distinct room of the batch.
 */
export function publishCall(
  logKeys: readonly [seq: string, epoch: string, global: string],
  head: ReadonlyArray<string | number>,
  batch: ReadonlyArray<{ rooms: readonly string[]; body: string }>,
  streamKey: (room: string) => string,
): { keys: string[]; args: (string | number)[] } {
  const keys = [...logKeys];
  const byKey = new Map<string, number>();
  const byRoom = new Map<string, number>();
  const args: (string | number)[] = [...head];
  for (const e of batch) {
    const countAt = args.push(0) - 1;
    for (const room of e.rooms) {
      let index = byRoom.get(room);
      if (index === undefined) {
        const key = streamKey(historyRoomOf(room));
        index = byKey.get(key);
        if (index === undefined) {
          index = keys.push(key);
          byKey.set(key, index);
        }
        byRoom.set(room, index);
      }
      if (args.indexOf(index, countAt + 1) === -1) args.push(index);
    }
    args[countAt] = args.length - countAt - 1;
    args.push(e.body);
  }
  return { keys, args };
}

/** Each room once, in first-seen order (an event's few rooms: no Set). */
function uniqueRooms(rooms: readonly string[]): string[] {
  const unique: string[] = [];
  for (const room of rooms) if (!unique.includes(room)) unique.push(room);
  return unique;
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
   * REALTIME_SHARDS: this many logs, each with its own tag (shard-layout.ts), counter, epoch, streams
   * and channel (SPUBLISH when more than one). Default 1: the `{rt}` log of before, unchanged.
   */
  shards?: number;
  /**
   * Collect appends this long (ms) into one script call instead of one event-loop turn (0, the default:
   * the api's chat and fan-out latency). queue:work sets it: a short job's events otherwise cost a round
   * trip, a wake-up and a script call of their own per job (bench/queues), BullMQ's one per job besides.
   */
  coalesceMs?: number;
}

/** One shard of the log: one hash tag, so one Cluster slot. */
export class ShardLog {
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
  private readonly flushNow = (): void => this.flush();
  private readonly roomStreamKey = (room: string): string => this.streamKey(room);
  private isoAt = NaN;
  private iso = '';

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: EventLogOptions,
    /** This shard's index: stamped on every event it issues or reads. */
    readonly index = 0,
  ) {
    // One hash tag: the publish script touches the counter, the epoch and every stream at once,
    // which a Redis Cluster allows only within one slot.
    const p = `${opts.prefix}{${opts.shardTag ?? 'rt'}}:`;
    this.channel = `${p}events`;
    this.seqKey = `${p}seq`;
    this.epochKey = `${p}epoch`;
    this.globalKey = `${p}all-events`;
    if (!(redis as unknown as Partial<WithPublish>).rtPublishMany) redis.defineCommand('rtPublishMany', { lua: PUBLISH_LUA });
    if (!(redis as unknown as Partial<WithPublish>).rtMarkIncomplete) redis.defineCommand('rtMarkIncomplete', { lua: MARK_INCOMPLETE_LUA });
  }

  streamKey(room: string): string {
    return `${this.opts.prefix}{${this.opts.shardTag ?? 'rt'}}:room:${room}`;
  }

  /** SPUBLISH: subscribers must SSUBSCRIBE this shard's channel. */
  get sharded(): boolean {
    return !!this.opts.shardedPubSub;
  }

  /**
   * Resolves once the event has its id, is in its rooms' history and is
   * published. Events appended in the same turn of the event loop (or within
   * `coalesceMs`) share one round trip and get their ids in the order of the calls.
   */
  append(rooms: string[], eventType: string, payload: Record<string, unknown>, target: RealtimeTarget): Promise<LoggedEvent> {
    const unique = uniqueRooms(rooms);
    const timestamp = this.isoNow();
    const body = JSON.stringify({ eventType, timestamp, payload, target, rooms: unique });
    return new Promise<LoggedEvent>((resolve, reject) => {
      this.pending.push({ rooms: unique, body, eventType, timestamp, payload, target, resolve, reject });
      const coalesceMs = this.opts.coalesceMs ?? 0;
      // A full batch does not wait for the rest of the window.
      if (coalesceMs > 0 && this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        if (coalesceMs > 0) this.flushTimer = setTimeout(this.flushNow, coalesceMs);
        else setImmediate(this.flushNow);
      }
    });
  }

  /** The ISO time of now, formatted once per millisecond (a busy worker announces several events in one). */
  private isoNow(): string {
    const now = Date.now();
    if (now !== this.isoAt) {
      this.isoAt = now;
      this.iso = new Date(now).toISOString();
    }
    return this.iso;
  }

  private flush(): void {
    this.flushScheduled = false;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.pending.length) this.send(this.pending.splice(0, MAX_BATCH));
  }

  private send(batch: PendingEvent[]): void {
    const head = [this.opts.historyPerRoom, this.opts.historyTtlMs, this.channel, GLOBAL_HISTORY, batch.length, this.opts.shardedPubSub ? 'SPUBLISH' : 'PUBLISH'];
    const { keys, args } = publishCall([this.seqKey, this.epochKey, this.globalKey], head, batch, this.roomStreamKey);
    (this.redis as unknown as WithPublish).rtPublishMany(keys.length, ...keys, ...args).then(
      (ids) => {
        for (let i = 0; i < batch.length; i++) {
          const e = batch[i];
          e.resolve({ id: Number(ids[i]), shard: this.index, eventType: e.eventType, timestamp: e.timestamp, payload: e.payload, target: e.target, rooms: e.rooms });
        }
      },
      (err: unknown) => batch.forEach((e) => e.reject(err)),
    );
  }

  /**
   * History of `room` (its stream: historyRoomOf) may lack events up to now, some of which never had an id
   * (room-hearing.ts): a control event takes the next id, and a read from before it is told it has a gap
   * (the `:trimmed` marker readAfter checks, never moved back).
   */
  async markIncomplete(room: string): Promise<void> {
    const { id } = await this.append([], HISTORY_INCOMPLETE, { room }, 'all');
    const marker = `${this.streamKey(historyRoomOf(room))}:trimmed`;
    await (this.redis as unknown as WithPublish).rtMarkIncomplete(1, marker, id, this.opts.historyTtlMs);
  }

  /** Events with fromId < id < toId from the global stream (to fill a gap on the channel). */
  async between(fromId: number, toId: number): Promise<LoggedEvent[]> {
    const entries = (await this.redis.xrange(this.globalKey, `(${fromId}-0`, `(${toId}-0`)) as [string, string[]][];
    return entries.map(([streamId, fields]) => parseEntry(Number(streamId.split('-')[0]), fields, this.index));
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
      // `:trimmed`: history incomplete up to that id (markIncomplete: a queue's jobs went unannounced while
      // nobody could hear them, room-hearing.ts; and streams written before the kept-entry rule, until they expire).
      if (trimmed !== null && trimmed !== undefined && Number(trimmed) > afterId) gap = true;
      const found = (entries ?? []) as [string, string[]][];
      // More than SSE_HISTORY entries after afterId: the read reached the oldest, kept entry of a full
      // stream, which stands for the newest trimmed one (PUBLISH_LUA), so something after afterId is gone.
      if (found.length > this.opts.historyPerRoom) gap = true;
      for (const [streamId, fields] of found) {
        const id = Number(streamId.split('-')[0]);
        if (byId.has(id)) continue;
        const event = parseEntry(id, fields, this.index);
        // A stream shared by several rooms (historyRoomOf) holds events some of the reader's rooms never got.
        if (event.rooms.some((r) => wanted.has(r))) byId.set(id, event);
      }
    }
    return { events: [...byId.values()].sort((a, b) => a.id - b.id), gap };
  }
}

/** Where a reader resumes: a wire position (parsed here), a position, or a plain id (one shard). */
export type ResumeFrom = string | number | Position;

/**
 * The realtime log: REALTIME_SHARDS shard logs (ShardLog), each its own hash tag, counter, epoch,
 * room streams and channel, so that on a Cluster the publish scripts and the fan-out spread over the
 * masters (docs/scaling/redis.md, "Sharded fan-out"). An event goes to the shard of its first room.
 * A reader's position has one component per shard (position.ts); with one shard everything here is
 * the single `{rt}` log and its plain numeric ids of before. Usable from any process.
 */
export class EventLog {
  readonly shards: readonly ShardLog[];

  constructor(redis: RedisClient, opts: EventLogOptions) {
    const count = opts.shards ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`shards must be a whole number from 1 (got ${count})`);
    const tags = count === 1 ? [opts.shardTag ?? 'rt'] : shardTags(count);
    this.shards = tags.map((shardTag, i) => new ShardLog(redis, { ...opts, shardTag, shardedPubSub: count > 1 || opts.shardedPubSub }, i));
  }

  /** Shard 0's channel, counter and epoch: the only ones with one shard. */
  get channel(): string {
    return this.shards[0].channel;
  }

  get seqKey(): string {
    return this.shards[0].seqKey;
  }

  get epochKey(): string {
    return this.shards[0].epochKey;
  }

  /** A room's stream in one shard (by default the shard its own events go to). */
  streamKey(room: string, shard = this.shardOf(room)): string {
    return this.shards[shard].streamKey(room);
  }

  /** The shard of an event whose first room is `room`. */
  shardOf(room: string): number {
    return shardOfRoom(room, this.shards.length);
  }

  /**
   * The event goes to its first room's shard. A control event (no room) goes to every shard: each
   * shard's channel then carries it in order with that shard's events, so "before any event published
   * after this call" holds for all of them (its handler runs once per shard: the handlers are idempotent).
   */
  append(rooms: string[], eventType: string, payload: Record<string, unknown>, target: RealtimeTarget): Promise<LoggedEvent> {
    if (rooms.length) return this.shards[this.shardOf(rooms[0])].append(rooms, eventType, payload, target);
    if (this.shards.length === 1) return this.shards[0].append(rooms, eventType, payload, target);
    return Promise.all(this.shards.map((s) => s.append(rooms, eventType, payload, target))).then((events) => events[0]);
  }

  /** History of `room` may lack events up to now, in every shard (ShardLog.markIncomplete): a room's stream exists in each. */
  async markIncomplete(room: string): Promise<void> {
    await Promise.all(this.shards.map((s) => s.markIncomplete(room)));
  }

  /** The wire id a publisher reports for an event: its id with one shard, else the least position covering it. */
  publishedId(e: LoggedEvent): string {
    return this.shards.length === 1 ? String(e.id) : formatPosition(positionOfEvent(this.shards.length, e.shard ?? 0, e.id));
  }

  parse(text: string): ParsedPosition | null {
    return parsePosition(text, this.shards.length);
  }

  format(p: Position): string {
    return formatPosition(p);
  }

  /** The newest id of every shard. */
  currentPosition(): Promise<number[]> {
    return Promise.all(this.shards.map((s) => s.currentId()));
  }

  /** A new socket's recovery offset (ShardLog.offsetForNewSocket, per shard), on the wire. */
  async offsetForNewSocket(): Promise<string> {
    if (this.shards.length === 1) return String(await this.shards[0].offsetForNewSocket());
    return formatPosition(await Promise.all(this.shards.map((s) => s.offsetForNewSocket())));
  }

  /**
   * Every event after `after` in any of `rooms`: per shard, the events after that shard's component,
   * replayed shard by shard (ShardLog.readAfter; each shard keeps its own order, and the shards never
   * promised one among them). Each event carries the position a client holds once it has it. `gap`
   * when any shard's history no longer covers its component, or `after` is of another shard layout.
   */
  async readAfter(rooms: string[], after: ResumeFrom): Promise<HistoryRead> {
    const from = this.resumeFrom(after);
    if (!from) return { events: [], gap: true };
    return replayOrder(from, await Promise.all(this.shards.map((s, i) => s.readAfter(rooms, from[i]))));
  }

  private resumeFrom(after: ResumeFrom): Position | null {
    if (typeof after === 'number') return this.shards.length === 1 ? [after] : null;
    if (typeof after !== 'string') return after.length === this.shards.length ? after : null;
    const parsed = this.parse(after);
    return parsed?.kind === 'at' ? parsed.position : null;
  }
}

/**
 * One replay from per-shard reads (shard `i`'s read starting after `from[i]`): shard by shard, each in
 * id order, every event with the position a client holds once it has it; a gap in any shard is a gap.
 */
export function replayOrder(from: Position, reads: readonly HistoryRead[]): HistoryRead {
  let cursor: Position = from;
  const events: LoggedEvent[] = [];
  for (const read of reads) {
    for (const e of read.events) {
      cursor = advance(cursor, e.shard ?? 0, e.id);
      e.position = formatPosition(cursor);
      events.push(e);
    }
  }
  return { events, gap: reads.some((r) => r.gap) };
}

function parseEntry(id: number, fields: string[], shard: number): LoggedEvent {
  const i = fields.indexOf('e');
  return decodeBody(id, fields[i + 1], shard);
}

export function decodeBody(id: number, body: string, shard = 0): LoggedEvent {
  const parsed = JSON.parse(body) as Omit<LoggedEvent, 'id'>;
  return { id, shard, ...parsed };
}

/** Channel message `<id> <epoch>\n<body>` of shard `shard` → event. */
export function decodeChannelMessage(message: string, shard = 0): LoggedEvent {
  const nl = message.indexOf('\n');
  const [id, epoch] = message.slice(0, nl).split(' ');
  const e = decodeBody(Number(id), message.slice(nl + 1), shard);
  if (epoch !== undefined) e.epoch = Number(epoch);
  return e;
}

/** The wire id of an event: its position when one was given, else (one shard) its id. */
export function wireId(e: LoggedEvent): string {
  return e.position ?? String(e.id);
}

/** What a client receives: the payload plus the envelope every event carries. */
export function envelope(e: LoggedEvent, eventId = wireId(e)): Record<string, unknown> {
  return { ...e.payload, eventId, eventType: e.eventType, timestamp: e.timestamp };
}
