import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../errors/domain-error';
import { connectionCapacityRatio, realtimeSlotsReconciledTotal } from '../metrics/metrics';
import { REDIS } from '../redis/redis.module';
import { createRedis, redisReady, RedisClient } from '../redis/redis.factory';
import { sameSlotTag } from '../redis/hash-tag';
import { writeOncePerTurn } from '../redis/turn-writes';
import { AdminAlerts } from './admin-alerts';
import { LocalConnectionStats } from './local-connection-stats';
import { ProcessHashChanges } from './process-hash-changes';
import { SlotHolderKind, SlotLedger, SlotTransport } from './slot-ledger';

/**
 * Cluster-wide connection counts, presence and per-process stats. Each api
 * process owns one hash (`rt:proc:<instance>`) that it rewrites from its own
 * memory on every heartbeat and that expires PROCESS_TTL_MS after the process
 * stops beating: a killed process leaks nothing for longer than that. Limits
 * are checked and taken in one Lua script over the live processes (atomic).
 * Each slot belongs to the connection that took it (SlotLedger), and the
 * heartbeats free the slots of connections that closed without their owner
 * noticing, so a missed close costs a slot for at most RECONCILE_BEATS
 * heartbeats (one in a process with up to RECONCILE_MIN), not for the life of
 * the process (issue 19).
 */
const PROCESS_TTL_MS = 15000;
const HEARTBEAT_MS = 2000;
/**
 * Every this many heartbeats the process hash is rewritten whole from memory even when nothing
 * says it must be (5 min): a safety net under the triggers (a failed write, a reconnect, the hash
 * found recreated) for anything they do not see. It writes a field per user online here: every 30 s,
 * as it was, that was the largest write and allocation of an idle process at 12,500 sockets (~4 MB
 * of garbage and a 12,500-field HSET each time, issue 18).
 */
export const FULL_REWRITE_BEATS = 150;
/**
 * Each heartbeat looks at this share of the slots for connections closed unseen (all of them within
 * RECONCILE_BEATS heartbeats, 30 s), and at no fewer than RECONCILE_MIN. Looking at every slot every
 * heartbeat was a few ms of every 2 s at 12,500 sockets for a safety net that finds nothing when the
 * set-up paths are right (issue 18).
 */
const RECONCILE_BEATS = 15;
const RECONCILE_MIN = 500;

const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
local procs = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local total, perIp = 0, 0
local ipField = 'ip:' .. ARGV[3]
for i = 1, #procs, 2 do
  local key = ARGV[6] .. procs[i]
  if tonumber(procs[i + 1]) < now then
    redis.call('ZREM', KEYS[1], procs[i])
    redis.call('DEL', key)
  else
    total = total + tonumber(redis.call('HGET', key, 'total') or '0')
    perIp = perIp + tonumber(redis.call('HGET', key, ipField) or '0')
  end
end
if total >= tonumber(ARGV[4]) then return {'connection_limit', total} end
if perIp >= tonumber(ARGV[5]) then return {'ip_limit', total} end
redis.call('HINCRBY', KEYS[2], 'total', 1)
redis.call('HINCRBY', KEYS[2], ipField, 1)
redis.call('PEXPIRE', KEYS[2], ttl)
local result = {'ok', total + 1}
for i = 3, #KEYS do
  result[i] = redis.call('GET', KEYS[i]) or false
end
return result
`;

/**
 * Drops api processes whose heartbeat expired from the process index (their hashes expire by
 * themselves): stale presence. Reads skip them already; this keeps the index from holding every
 * process that ever died, for the scheduler's presence:prune. Returns how many went.
 */
export function pruneDeadProcesses(redis: RedisClient, redisPrefix: string, now = Date.now()): Promise<number> {
  return redis.zremrangebyscore(`${redisPrefix}{rt}:procs`, '-inf', now);
}

type WithAcquire = RedisClient & { rtAcquire(numKeys: number, ...args: (string | number)[]): Promise<[string, number, ...(string | null)[]]> };

/**
 * When a client refused at a limit may try again. Slots free themselves as clients leave, and a dead
 * process's within PROCESS_TTL_MS — at once when supervisord's new process takes its name: the clients of
 * a crashed process reconnecting at once meet its slots still counted for a few seconds (bench:scale's
 * kill -9 at 2,000 sockets: 4 refused `connection_limit`). socket.io-client never retries a namespace
 * refused with connect_error by itself; the hint (`retryAfterMs` in err.data, `Retry-After` for SSE)
 * says when a retry makes sense.
 */
export const LIMIT_RETRY_AFTER_MS = 5000;

export class ConnectionRefusedError extends DomainError {
  constructor(code: 'connection_limit' | 'ip_limit') {
    super(code, code === 'connection_limit' ? 'The server is at its connection limit' : 'Too many connections from this address', { retryAfterMs: LIMIT_RETRY_AFTER_MS });
  }
}

export interface ProcessStats {
  instance: string;
  namespaces: Record<string, { connections: number; authenticated: number }>;
  sse: { clients: number; authenticated: number };
  rooms: Record<string, number>;
}

@Injectable()
export class ClusterState implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ClusterState.name);
  private readonly procsKey: string;
  private readonly procPrefix: string;
  private readonly ownKey: string;
  private timer?: NodeJS.Timeout;
  /**
   * The connection that takes slots: its own, without auto-pipelining. A
   * handshake's one command then goes straight out; on the shared connection
   * each handshake, alone in its tick during a connection storm, built an
   * ioredis auto-pipeline (a Pipeline copies every defined script: ~2.5 KB
   * each time) that outlived the round trip into old space (bench/RESULTS.md).
   * The handshakes of one event-loop turn still share one socket write
   * (writeOncePerTurn).
   */
  private slots?: RedisClient;
  private readonly ledger = new SlotLedger();
  /**
   * Slot scripts sent and not answered yet, per address. The script counts the slot in Redis
   * before this process knows of it: a heartbeat that rewrote the hash without it, followed by
   * the slot's release, left the count one low (even negative per address) until the next beat.
   */
  private readonly taking = new Map<string, number>();
  private readonly users = new Map<number, number>();
  /**
   * Slots given back and presence changes, written once per turn of the event loop: a socket's
   * close sent a MULTI of its own and an HDEL (bench:setup, issue 18).
   */
  private readonly changes: ProcessHashChanges;
  private clusterTotal = 0;
  private alertLevel: 'ok' | 'warning' | 'error' = 'ok';
  private reportTimer?: NodeJS.Timeout;
  /** The next heartbeat rewrites the hash whole (DEL + every field): Redis may not hold what memory does. */
  private fullRewriteDue = true;
  private beatsSinceFullRewrite = 0;
  /** LocalConnectionStats.version() of the stats last written. */
  private statsVersion = -1;
  private statsCache?: { version: number; json: string };
  /**
   * Addresses whose count changed since the last heartbeat: the next one writes their `ip:` fields
   * from memory (or removes those no longer counted, as the DEL of a whole rewrite would).
   */
  private readonly ipsChanged = new Set<string>();

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly local: LocalConnectionStats,
    private readonly alerts: AdminAlerts,
  ) {
    // One hash tag for every process hash and the index: the slot script sums them atomically, on a Cluster too.
    const p = `${config.redis.prefix}{rt}:`;
    this.procsKey = `${p}procs`;
    this.procPrefix = `${p}proc:`;
    this.ownKey = this.procPrefix + config.instanceId;
    this.changes = new ProcessHashChanges(redis, this.ownKey, () => this.rewriteWholeNextBeat());
  }

  async onModuleInit(): Promise<void> {
    const slots = createRedis(this.config.redis, { name: 'realtime-slots', extra: { enableAutoPipelining: false } });
    slots.on('error', (err: Error) => this.logger.debug({ err: err.message }, 'slot connection error'));
    slots.defineCommand('rtAcquire', { lua: ACQUIRE_LUA });
    writeOncePerTurn(slots);
    this.slots = slots;
    await redisReady(slots).catch((err: Error) => this.logger.warn({ err: err.message }, 'slot connection not ready yet'));
    // A reconnect may be to a restarted or failed-over Redis that lost (part of) the hash.
    this.redis.on('ready', () => this.rewriteWholeNextBeat());
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    this.reportTimer = setInterval(() => this.report(), 5 * 60 * 1000);
    this.reportTimer.unref();
    void this.beat();
  }

  private report(): void {
    const limit = this.config.realtime.maxConnections;
    this.logger.log({ local: this.ledger.total, cluster: this.clusterTotal, limit, ratio: this.clusterTotal / limit }, 'capacity report');
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.reportTimer);
    this.changes.close(); // nothing may recreate the hash once it is deleted
    await this.redis.multi().zrem(this.procsKey, this.config.instanceId).del(this.ownKey).exec().catch(() => undefined);
    await this.slots?.quit().catch(() => this.slots?.disconnect());
  }

  /**
   * Takes one connection slot cluster-wide for `holder` or throws connection_limit / ip_limit.
   * The slot is the holder's from the moment the script answers; the caller checks at once
   * whether its client left meanwhile (its close event has then already been emitted).
   * `read`: keys whose values (GET) the caller needs anyway, returned from the
   * same atomic call, so a socket handshake costs one Redis round trip rather
   * than one per key (each command left about 2 KB of garbage behind, bench/RESULTS.md).
   */
  async acquire<T extends object>(ip: string, kind: SlotHolderKind<T>, holder: T, read: string[] = []): Promise<(string | null)[]> {
    if (!this.slots) throw new Error('ClusterState is not initialised');
    this.taking.set(ip, (this.taking.get(ip) ?? 0) + 1);
    let answer: [string, number, ...(string | null)[]];
    // On a Cluster a script may only touch its own slot: keys under another hash tag are read beside it.
    const inScript = (this.slots as { isCluster?: boolean }).isCluster ? read.filter((k) => sameSlotTag(k, this.procsKey)) : read;
    const beside = read.filter((k) => !inScript.includes(k));
    const besideValues = beside.length ? Promise.all(beside.map((k) => this.redis.get(k))) : undefined;
    besideValues?.catch(() => undefined); // awaited below only when the slot was granted
    try {
      answer = await (this.slots as WithAcquire).rtAcquire(
        2 + inScript.length,
        this.procsKey,
        this.ownKey,
        ...inScript,
        this.config.instanceId,
        PROCESS_TTL_MS,
        ip,
        this.config.realtime.maxConnections,
        this.config.realtime.maxConnectionsPerIp,
        this.procPrefix,
      );
    } catch (err) {
      this.rewriteWholeNextBeat(); // the script may have counted the slot before the answer was lost
      throw err;
    } finally {
      const n = (this.taking.get(ip) ?? 1) - 1;
      if (n > 0) this.taking.set(ip, n);
      else this.taking.delete(ip);
      this.ipsChanged.add(ip); // a heartbeat may have counted it as being taken
    }
    const [result, total, ...scriptValues] = answer;
    if (result !== 'ok') throw new ConnectionRefusedError(result as 'connection_limit' | 'ip_limit');
    if (!this.ledger.take(kind, holder, ip)) this.giveBack(ip); // one holder, one slot
    this.setClusterTotal(Number(total));
    if (!besideValues) return scriptValues;
    const byKey = new Map<string, string | null>();
    inScript.forEach((k, i) => byKey.set(k, scriptValues[i] ?? null));
    const values = await besideValues.catch((err: unknown) => {
      this.release(holder); // refused as a whole: a caller that sees the error holds no slot
      throw err;
    });
    values.forEach((v, i) => byKey.set(beside[i], v));
    return read.map((k) => byKey.get(k) ?? null);
  }

  /** Frees the slot `holder` holds; a no-op when it holds none (already released or reconciled). */
  release(holder: object): void {
    const ip = this.ledger.give(holder);
    if (ip !== undefined) this.giveBack(ip);
  }

  /** Written at the end of the turn: until then Redis counts the slot, which errs on the side of the limits. */
  private giveBack(ip: string): void {
    this.ipsChanged.add(ip);
    this.changes.increment('total', -1);
    this.changes.increment(`ip:${ip}`, -1);
  }

  private rewriteWholeNextBeat(): void {
    this.fullRewriteDue = true;
  }

  userOnline(userId: number): void {
    const n = (this.users.get(userId) ?? 0) + 1;
    this.users.set(userId, n);
    if (n === 1) this.markOnline(userId);
  }

  userOffline(userId: number): void {
    const n = (this.users.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.users.set(userId, n);
      return;
    }
    this.users.delete(userId);
    this.changes.delete(`u:${userId}`);
  }

  /**
   * Users who came online in this turn of the event loop are written together at setImmediate
   * (ProcessHashChanges): a command per handshake built an ioredis auto-pipeline of its own in a
   * connection storm (bench:setup). A failed write has the next heartbeat rewrite the hash whole,
   * presence included.
   */
  private markOnline(userId: number): void {
    this.changes.set(`u:${userId}`);
  }

  /** Which of `userIds` have at least one socket or SSE stream on any live process. */
  async online(userIds: number[]): Promise<number[]> {
    const procs = await this.liveProcesses();
    const pipeline = this.redis.pipeline();
    for (const proc of procs) pipeline.hmget(this.procPrefix + proc, ...userIds.map((id) => `u:${id}`));
    const rows = (await pipeline.exec()) ?? [];
    const online = new Set<number>();
    for (const [, values] of rows) (values as (string | null)[]).forEach((v, i) => v !== null && online.add(userIds[i]));
    return userIds.filter((id) => online.has(id));
  }

  /** Every process's stats plus cluster totals. */
  async clusterStats(): Promise<{ total: number; limit: number; perIp: Record<string, number>; processes: ProcessStats[]; onlineUsers: number }> {
    await this.beat();
    const procs = await this.liveProcesses();
    const pipeline = this.redis.pipeline();
    for (const proc of procs) pipeline.hgetall(this.procPrefix + proc);
    const rows = (await pipeline.exec()) ?? [];
    let total = 0;
    const perIp: Record<string, number> = {};
    const users = new Set<string>();
    const processes: ProcessStats[] = [];
    for (const [, hash] of rows) {
      const h = (hash ?? {}) as Record<string, string>;
      for (const [field, value] of Object.entries(h)) {
        if (field === 'total') total += Number(value);
        else if (field.startsWith('ip:')) perIp[field.slice(3)] = (perIp[field.slice(3)] ?? 0) + Number(value);
        else if (field.startsWith('u:')) users.add(field.slice(2));
      }
      if (h.stats) processes.push(JSON.parse(h.stats) as ProcessStats);
    }
    return { total, limit: this.config.realtime.maxConnections, perIp, processes, onlineUsers: users.size };
  }

  private async liveProcesses(): Promise<string[]> {
    return this.redis.zrangebyscore(this.procsKey, Date.now(), '+inf');
  }

  private setClusterTotal(total: number): void {
    this.clusterTotal = total;
    const ratio = total / this.config.realtime.maxConnections;
    connectionCapacityRatio.set(ratio);
    const level = ratio >= 0.9 ? 'error' : ratio >= 0.75 ? 'warning' : 'ok';
    if (level === this.alertLevel) return;
    const rising = level === 'error' || (level === 'warning' && this.alertLevel === 'ok');
    this.alertLevel = level;
    if (!rising) return;
    const fields = { total, limit: this.config.realtime.maxConnections, ratio };
    if (level === 'error') this.logger.error(fields, 'connections at 90 % of MAX_CONCURRENT_CONNECTIONS');
    else this.logger.warn(fields, 'connections at 75 % of MAX_CONCURRENT_CONNECTIONS');
    this.alerts.capacity(level, ratio, total); // system:warning to admins (SPEC §8)
  }

  /**
   * Frees the slots of connections that have closed while still holding one: a close event
   * that came before its listener (a client that left during an await of its set-up) or never
   * came. Each is counted in realtime_slots_reconciled_total: above zero, a set-up path has a
   * window left open. Each call looks at the next 1/RECONCILE_BEATS of the slots (RECONCILE_MIN or more).
   */
  reconcile(): number {
    const closed = this.ledger.closed(Math.max(RECONCILE_MIN, Math.ceil(this.ledger.total / RECONCILE_BEATS)));
    if (!closed.length) return 0;
    const byTransport: Partial<Record<SlotTransport, number>> = {};
    for (const { kind, holder } of closed) {
      this.release(holder);
      try {
        kind.forget(holder);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, transport: kind.transport }, 'could not drop a closed connection');
      }
      byTransport[kind.transport] = (byTransport[kind.transport] ?? 0) + 1;
    }
    for (const [transport, n] of Object.entries(byTransport)) realtimeSlotsReconciledTotal.inc({ transport }, n);
    this.logger.warn({ freed: byTransport }, 'freed connection slots whose connection had closed unseen');
    return closed.length;
  }

  /**
   * Writes this process's counts from memory (self-healing after a Redis restart or a missed
   * release): `total` every heartbeat, the `ip:` fields of addresses whose count changed since the
   * last one (all of them in a whole rewrite); the stats only when they changed; the
   * presence fields (`u:<id>`, kept by userOnline/userOffline as they change) only in a whole
   * rewrite. Rewriting every user and room every 2 s made an idle process's garbage and Redis work
   * proportional to its sockets (bench/RESULTS.md). A whole rewrite (DEL, then every field) follows a
   * failed write, a reconnect, a hash found without its stats (lost, then recreated by a slot
   * script), and runs every FULL_REWRITE_BEATS beats regardless.
   */
  private async beat(): Promise<void> {
    try {
      this.reconcile();
      const whole = this.fullRewriteDue || ++this.beatsSinceFullRewrite >= FULL_REWRITE_BEATS;
      if (!(await this.writeHash(whole)) && !whole) await this.writeHash(true);
      const now = Date.now();
      const procs = await this.redis.zrangebyscore(this.procsKey, now, '+inf');
      const pipeline = this.redis.pipeline();
      for (const proc of procs) pipeline.hget(this.procPrefix + proc, 'total');
      const totals = (await pipeline.exec()) ?? [];
      this.setClusterTotal(totals.reduce((sum, [, v]) => sum + Number(v ?? 0), 0));
    } catch (err) {
      this.rewriteWholeNextBeat();
      this.logger.warn({ err: (err as Error).message }, 'realtime heartbeat failed');
    }
  }

  /** One write of the process hash; false when an incremental one found the hash lost (its stats gone). */
  private async writeHash(whole: boolean): Promise<boolean> {
    // Changes not sent yet go first, on the same connection: the counts written here have them already.
    this.changes.flush();
    if (whole) {
      this.fullRewriteDue = false;
      this.beatsSinceFullRewrite = 0;
    }
    // Slots being taken count already: over-counting one for a heartbeat errs on the side of the limits.
    let total = this.ledger.total;
    for (const n of this.taking.values()) total += n;
    const fields: Record<string, string> = { total: String(total) };
    // Every address in a whole rewrite; otherwise those whose count changed since the last write, and
    // those being taken. Behind nginx a process sees one address per client: rewriting all of them
    // every beat made an idle process's heartbeat proportional to its sockets (issue 18).
    const ips = whole ? new Set([...this.ledger.perIp.keys(), ...this.taking.keys()]) : new Set([...this.ipsChanged, ...this.taking.keys()]);
    this.ipsChanged.clear();
    const gone: string[] = [];
    for (const ip of ips) {
      const n = (this.ledger.perIp.get(ip) ?? 0) + (this.taking.get(ip) ?? 0);
      if (n > 0) fields[`ip:${ip}`] = String(n);
      else gone.push(`ip:${ip}`);
    }
    const version = this.local.version();
    if (whole || version !== this.statsVersion) fields.stats = this.statsJson(version);
    const now = Date.now();
    const multi = this.redis.multi();
    if (whole) {
      for (const userId of this.users.keys()) fields[`u:${userId}`] = '1';
      multi.del(this.ownKey);
    } else {
      multi.hexists(this.ownKey, 'stats');
      if (gone.length) multi.hdel(this.ownKey, ...gone);
    }
    const results = await multi
      .hset(this.ownKey, fields)
      .pexpire(this.ownKey, PROCESS_TTL_MS)
      .zadd(this.procsKey, now + PROCESS_TTL_MS, this.config.instanceId)
      .exec();
    this.statsVersion = version;
    if (whole) return true;
    const [err, statsKept] = results?.[0] ?? [null, 0];
    return !err && statsKept === 1;
  }

  /**
   * The stats as written, built again only when `version` moved: a whole rewrite of an idle process
   * walked every socket and room again (~40 ms at 12,500 sockets) for the same string (issue 18).
   */
  private statsJson(version: number): string {
    if (this.statsCache?.version !== version) {
      const stats: ProcessStats = { instance: this.config.instanceId, ...this.local.snapshot() };
      this.statsCache = { version, json: JSON.stringify(stats) };
    }
    return this.statsCache.json;
  }

  get clusterConnections(): number {
    return this.clusterTotal;
  }
}
