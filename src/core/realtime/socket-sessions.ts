import type { RedisClient } from '../redis/redis.factory';

function isCluster(redis: RedisClient): boolean {
  return (redis as { isCluster?: boolean }).isCluster === true;
}

/** How long a new socket's session may wait to be written with others (saveSoon). */
const SAVE_BATCH_MS = 5;
/** Keys per script call when many sessions are written or refreshed at once. */
const CHUNK = 500;

/** KEYS = session keys; ARGV[1] = ttl ms, ARGV[1 + i] = the value for KEYS[i]. */
const SET_MANY_LUA = `
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', ARGV[1])
end
return #KEYS
`;

/** KEYS = session keys; ARGV[1] = ttl ms. */
const PEXPIRE_MANY_LUA = `
for i = 1, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
`;

/** What a socket needs to be recovered on any process (kept in Redis, not in the process that may die). */
export interface StoredSession {
  sid: string;
  pid: string;
  nsp: string;
  userId: number;
  /** Rooms the client asked for (its own user room and the broadcast rooms are implied). */
  rooms: string[];
}

/** Pending recovery handed from the adapter to the connection handler through `socket.data`. */
export interface PendingRecovery {
  userId: number;
  rooms: string[];
  /** The client's position (position.ts), as it sent it. */
  offset: string;
}

/**
 * Sessions are written when a socket authenticates and on every room change,
 * and their TTL is refreshed while the socket lives, so a process killed
 * without a disconnect still leaves a recoverable session behind
 * (the stock adapters persist only on a clean disconnect).
 */
export class SocketSessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  private key(pid: string): string {
    return `${this.prefix}rt:sess:${pid}`;
  }

  /**
   * While a batch is pending the save joins it, after the socket's first save: written on its own it
   * could reach Redis first and be overwritten by the older first save when the batch goes out (a
   * room joined within SAVE_BATCH_MS of connecting would then be missing from the session, and a
   * recovery would restore the socket without it, saying recovered:true).
   */
  async save(s: StoredSession): Promise<void> {
    if (this.batch) return this.saveSoon(s);
    await this.redis.set(this.key(s.pid), JSON.stringify(s), 'PX', this.ttlMs);
  }

  private batch: { entries: [string, string][]; written: Promise<void> } | null = null;

  /**
   * The first save of a new socket, written with the others of the next few
   * milliseconds: one script call per batch instead of a command per socket
   * (a Pipeline object per socket was most of the garbage a connection storm
   * left behind, bench/RESULTS.md). Nothing
   * waits on it but the connection handler, after `connected` was sent.
   */
  saveSoon(s: StoredSession): Promise<void> {
    if (!this.batch) {
      const entries: [string, string][] = [];
      const written = new Promise<void>((resolve) => setTimeout(resolve, SAVE_BATCH_MS)).then(async () => {
        this.batch = null;
        await this.setMany(entries);
      });
      written.catch(() => undefined); // each caller sees the failure; none may leave it unhandled
      this.batch = { entries, written };
    }
    this.batch.entries.push([this.key(s.pid), JSON.stringify(s)]);
    return this.batch.written;
  }

  async load(pid: string): Promise<StoredSession | null> {
    const raw = await this.redis.get(this.key(pid));
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  }

  /**
   * Refreshes the TTL of every live socket's session: one script call per
   * CHUNK keys (a command per socket, 10,000 every refresh at 10,000 sockets,
   * was a burst of garbage proportional to the connections held).
   */
  async touch(pids: string[]): Promise<void> {
    if (!pids.length) return;
    const keys = pids.map((pid) => this.key(pid));
    if (isCluster(this.redis)) {
      await Promise.all(keys.map((key) => this.redis.pexpire(key, this.ttlMs)));
      return;
    }
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      calls.push(this.redis.eval(PEXPIRE_MANY_LUA, chunk.length, ...chunk, this.ttlMs));
    }
    await Promise.all(calls);
  }

  /**
   * Writes sessions with one script call per CHUNK (a Redis Cluster spreads the keys over slots: one
   * SET each there). A key saved twice in the batch is written once, with its last value.
   */
  private async setMany(batch: [string, string][]): Promise<void> {
    const entries = [...new Map(batch)];
    if (isCluster(this.redis)) {
      await Promise.all(entries.map(([key, value]) => this.redis.set(key, value, 'PX', this.ttlMs)));
      return;
    }
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK);
      calls.push(this.redis.eval(SET_MANY_LUA, chunk.length, ...chunk.map(([key]) => key), this.ttlMs, ...chunk.map(([, value]) => value)));
    }
    await Promise.all(calls);
  }

  /**
   * Consumes the session for a recovery: read and deleted in one command (GETDEL), so of two handshakes
   * that read it at once only one gets it, and with the rooms it lists at that moment (a write that
   * landed after the recovery first read it included). Null: another recovery consumed it first.
   */
  async claim(pid: string): Promise<StoredSession | null> {
    const raw = await this.redis.getdel(this.key(pid));
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  }

  /** Recoveries on this process between reading a session and claiming it, by socket id. */
  private readonly claims = new Map<string, Set<string[]>>();

  /**
   * A recovery of socket `sid` is under way here, from its first read of the session to its claim. A
   * subscribe that finishes meanwhile on an ended socket of that id hands its room over (`handToClaim`):
   * the session it writes may land after the claim read it. `rooms` (read after the claim) is what was
   * handed over; `close` ends it.
   */
  openClaim(sid: string): { rooms: string[]; close(): void } {
    const rooms: string[] = [];
    let open = this.claims.get(sid);
    if (!open) this.claims.set(sid, (open = new Set()));
    open.add(rooms);
    return {
      rooms,
      close: () => {
        open.delete(rooms);
        if (!open.size && this.claims.get(sid) === open) this.claims.delete(sid);
      },
    };
  }

  /** Gives `room` to every recovery of `sid` under way here (openClaim); whether there was one. */
  handToClaim(sid: string, room: string): boolean {
    const open = this.claims.get(sid);
    if (!open) return false;
    for (const rooms of open) if (!rooms.includes(room)) rooms.push(room);
    return true;
  }
}
