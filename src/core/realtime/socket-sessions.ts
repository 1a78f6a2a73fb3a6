import type { RedisClient } from '../redis/redis.factory';

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
  offset: number;
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

  async save(s: StoredSession): Promise<void> {
    await this.redis.set(this.key(s.pid), JSON.stringify(s), 'PX', this.ttlMs);
  }

  async load(pid: string): Promise<StoredSession | null> {
    const raw = await this.redis.get(this.key(pid));
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  }

  async touch(pids: string[]): Promise<void> {
    if (!pids.length) return;
    const pipeline = this.redis.pipeline();
    for (const pid of pids) pipeline.pexpire(this.key(pid), this.ttlMs);
    await pipeline.exec();
  }

  async remove(pid: string): Promise<void> {
    await this.redis.del(this.key(pid));
  }
}
