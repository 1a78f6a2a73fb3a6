import { performance } from 'node:perf_hooks';
import type { RedisClient } from '../redis/redis.factory';
import { EventLog, historyRoomOf } from './event-log';

/**
 * How long a worker trusts what it last read of the marks (from the start of that read), and so how
 * long a room's first listener waits for its subscribe to be answered: past it, every worker that
 * still announces nothing for the room has read the mark.
 */
export const HEARING_WINDOW_MS = 500;
/** Slack on the listener's side of the window (the read's round trip, clock rates). */
const HEARING_SLACK_MS = 50;
/** A busy worker reads the marks of its queues this often. */
const REREAD_MS = 100;

/**
 * The room whose mark says a queue is heard: `queue:<name>` for the queue's room and for each of its
 * jobs' rooms (which share the queue's history: historyRoomOf), null for every other room.
 */
export function hearingRoomOf(room: string): string | null {
  if (!room.startsWith('queue:') && !room.startsWith('job:')) return null;
  const heard = historyRoomOf(room);
  return heard.startsWith('queue:') ? heard : null;
}

export function hearingKey(prefix: string, hearingRoom: string): string {
  // One hash tag: a worker reads the marks of all its queues with one MGET, on a Cluster too.
  return `${prefix}{heard}:${hearingRoom}`;
}

/**
 * KEYS[1] = the mark; ARGV = its TTL (ms), the window (ms). The mark is `<created ms>:<1 once the
 * room's history is marked incomplete>` (Redis' clock). Returns how long the caller waits (ms) before
 * its listener counts as heard, and 1 while the history is still to be marked.
 */
const HEAR_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mark = redis.call('GET', KEYS[1])
local window = tonumber(ARGV[2])
local created, marked
if mark then created, marked = string.match(mark, '^(%d+):(%d)$') end
if not created then
  -- none (or not one of ours): a new mark, its history still to be marked
  redis.call('SET', KEYS[1], string.format('%.0f', now) .. ':0', 'PX', ARGV[1])
  return {window, 1}
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {math.max(0, tonumber(created) + window - now), marked == '1' and 0 or 1}
`;

/** KEYS[1] = the mark: its history is marked incomplete now (kept as it is otherwise). */
const MARKED_LUA = `
local mark = redis.call('GET', KEYS[1])
if mark then
  local created = string.match(mark, '^(%d+):')
  redis.call('SET', KEYS[1], created .. ':1', 'KEEPTTL')
end
`;

type WithHearing = RedisClient & {
  rtHear(numKeys: number, ...args: (string | number)[]): Promise<[number, number]>;
  rtHeardMarked(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
};

/**
 * The listeners' side of QUEUE_JOB_EVENTS=heard (job-announcer.ts): a worker announces a job that has no
 * owner only while its queue is heard, i.e. a mark exists that a socket or SSE stream in `queue:<name>`
 * or one of its `job:<name>:<id>` rooms set (a queue's jobs are otherwise for nobody: only admins and
 * their owner may listen to them). The mark is set before the listener is answered and kept while it
 * listens, and for the recovery window after (its session may still recover the room). When the mark
 * is new, the room's history is first marked incomplete up to now (what went unannounced before is
 * missing from it: a resume from before is told it has a gap), and the listener is answered only once
 * every worker has read the mark (HEARING_WINDOW_MS). So a listener gets every event after its answer,
 * and a recovery or SSE resume either gets every event it missed or is told to refetch.
 */
export class RoomHearing {
  private readonly redis: WithHearing;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly log: EventLog,
    /** How long a mark outlives its last refresh: the recovery window and two refresh periods. */
    private readonly ttlMs: number,
  ) {
    this.redis = redis as WithHearing;
    if (!this.redis.rtHear) redis.defineCommand('rtHear', { lua: HEAR_LUA });
    if (!this.redis.rtHeardMarked) redis.defineCommand('rtHeardMarked', { lua: MARKED_LUA });
  }

  /**
   * Listeners in `rooms` (those without a mark are skipped): their marks set or kept, histories of new
   * ones marked incomplete, and (with `wait`) resolved once every worker hears them.
   */
  async hear(rooms: Iterable<string>, wait = true): Promise<void> {
    const heard = new Set<string>();
    for (const room of rooms) {
      const h = hearingRoomOf(room);
      if (h) heard.add(h);
    }
    if (!heard.size) return;
    const waits = await Promise.all([...heard].map((room) => this.mark(room)));
    const longest = Math.max(...waits);
    if (wait && longest > 0) await new Promise((resolve) => setTimeout(resolve, longest + HEARING_SLACK_MS));
  }

  private async mark(room: string): Promise<number> {
    const key = hearingKey(this.prefix, room);
    const [waitMs, unmarked] = await this.redis.rtHear(1, key, this.ttlMs, HEARING_WINDOW_MS);
    if (unmarked) {
      // Every api process hears the history:incomplete event and sends away any listener it has in the
      // queue's rooms (HearingKeeper): with the mark gone they heard nothing. None in normal running.
      await this.log.markIncomplete(room);
      await this.redis.rtHeardMarked(1, key);
    }
    return Number(waitMs);
  }
}

/**
 * The workers' side: whether a queue room is heard now, from the marks read at most REREAD_MS ago (one
 * MGET for every room asked about). A read older than HEARING_WINDOW_MS, or none yet, counts as heard:
 * a worker that cannot read the marks announces, as it did before.
 */
export class HeardRooms {
  private readonly known = new Map<string, { heard: boolean; readAt: number }>();
  private readonly asked = new Set<string>();
  private readStartedAt = Number.NEGATIVE_INFINITY;
  private reading = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  isHeard(room: string): boolean {
    const now = this.now();
    if (!this.asked.has(room)) {
      this.asked.add(room);
      this.readStartedAt = Number.NEGATIVE_INFINITY;
    }
    if (!this.reading && now - this.readStartedAt >= REREAD_MS) this.read(now);
    const known = this.known.get(room);
    return !known || now - known.readAt >= HEARING_WINDOW_MS || known.heard;
  }

  private read(startedAt: number): void {
    this.reading = true;
    this.readStartedAt = startedAt;
    const rooms = [...this.asked];
    let reply: Promise<(string | null)[]>;
    try {
      reply = this.redis.mget(...rooms.map((room) => hearingKey(this.prefix, room)));
    } catch {
      this.reading = false; // a client that throws at once (closed): as unread, never into the job
      return;
    }
    reply.then(
      (marks) => {
        this.reading = false;
        rooms.forEach((room, i) => this.known.set(room, { heard: marks[i] !== null, readAt: startedAt }));
      },
      () => {
        this.reading = false; // unread: what it knew ages past the window and counts as heard
      },
    );
  }
}
