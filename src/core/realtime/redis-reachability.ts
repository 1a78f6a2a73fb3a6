import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { replyCode } from '../redis/redis-errors';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';
import { EngineMiddleware, refuseHandshakesWhile } from './refuse-handshake';
import { SpreadClose, spreadCloses } from './close-spread';

const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 1500;
/** Redis silent this long, over at least FAILURES_TO_ACT probes this process was awake for, is an outage. */
export const SILENCE_TO_ACT_MS = 5000;
const FAILURES_TO_ACT = 3;
/** A probe timer this late means the event loop was starved: that probe says nothing about Redis. */
const STARVED_LATE_MS = 500;

type Outcome = 'answered' | 'refused' | 'unanswered' | 'starved';

/**
 * A process cut off from Redis cannot deliver anything to its sockets (every event reaches it
 * through Redis) and cannot admit new ones (slots, sessions). The partition drill showed its
 * sockets staying connected and silent for the whole cut, then flooded with the backlog
 * (drills/RESULTS.md). So when Redis stops answering this process alone, it closes its sockets at
 * the transport (clients reconnect as after a crash and recover from history on a process that can
 * reach Redis) and answers new handshakes 503, which nginx resends to another upstream
 * (proxy_next_upstream http_503). When Redis answers again it admits sockets as before.
 *
 * Closing is right only when other processes can still reach Redis; when nobody can (a Redis
 * restart, a Sentinel failover: ~3 s without a primary for everyone) it just sends every client of
 * the cluster into a reconnect loop against processes that refuse them too (the full Sentinel kill -9
 * drill: /up unreachable for 60 s, bench:scale: a starved machine took every process's sockets). What
 * one process can know without Redis:
 *  - its own event loop: a probe whose timer fired late was starved, not unanswered (not counted),
 *    and a PONG that arrives after its timeout still counts as an answer;
 *  - how Redis failed: a refused connection (ECONNREFUSED: the host answered, nothing listens) or an
 *    error reply (LOADING, MASTERDOWN...) is the server's state, the same for every process, so this
 *    process keeps its sockets (they get the events once Redis is back: the hub fills the gap or
 *    resyncs them) and answers handshakes 429 + Retry-After (busy everywhere, nginx does not count
 *    it); silence (timeouts, unreachable network) is what a cut of this process alone looks like;
 *  - time: SILENCE_TO_ACT_MS, longer than a Sentinel promotion, before doing anything.
 * When it does close, the closes are spread (close-spread.ts) and stop as soon as Redis answers.
 */
@Injectable()
export class RedisReachability implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RedisReachability');
  private failures = 0;
  private lastAnswerAt = Date.now();
  /** Redis refused a connection or replied with an error since it last answered: its outage, not this process's. */
  private serverSide = false;
  private state: 'ok' | 'cut' | 'outage' = 'ok';
  private closing?: SpreadClose;
  private timer?: NodeJS.Timeout;
  private probing = false;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
  ) {}

  /** Cut off from Redis alone: its sockets are sent to other processes, handshakes 503. */
  get cut(): boolean {
    return this.state === 'cut';
  }

  /** Redis down for every process: sockets kept, handshakes 429. */
  get outage(): boolean {
    return this.state === 'outage';
  }

  onModuleInit(): void {
    this.lastAnswerAt = Date.now();
    this.redis.on('error', (err: NodeJS.ErrnoException) => {
      if (err?.code === 'ECONNREFUSED') this.serverSide = true;
    });
    this.timer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.closing?.cancel();
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const outcome = await this.ping();
      if (outcome === 'answered') this.answered();
      else if (outcome !== 'starved') this.failed(outcome === 'refused');
    } finally {
      this.probing = false;
    }
  }

  private async ping(): Promise<Outcome> {
    let settled: Outcome | undefined;
    const answer = this.redis.ping().then(
      (): Outcome => {
        // A late PONG counts too: Redis was there, only slow.
        if (settled === undefined) settled = 'answered';
        else this.answered();
        return 'answered';
      },
      (err: unknown): Outcome => (settled ??= replyCode(err) !== undefined ? 'refused' : 'unanswered'),
    );
    let timer: NodeJS.Timeout | undefined;
    const due = Date.now() + PROBE_TIMEOUT_MS;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), PROBE_TIMEOUT_MS)));
    const first = await Promise.race([answer, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    const late = Date.now() - due;
    // Timers run before I/O in a loop turn: a reply waiting in the socket is read before setImmediate's callback.
    await new Promise((r) => setImmediate(r));
    if (settled !== undefined) return settled;
    settled = 'unanswered';
    return late > STARVED_LATE_MS ? 'starved' : 'unanswered';
  }

  private answered(): void {
    this.lastAnswerAt = Date.now();
    this.failures = 0;
    this.serverSide = false;
    if (this.state === 'ok') return;
    const kept = this.closing?.cancel() ?? 0;
    this.closing = undefined;
    this.logger.warn({ kept, was: this.state }, 'Redis answers again: admitting sockets');
    this.state = 'ok';
  }

  private failed(refused: boolean): void {
    this.failures++;
    if (refused) this.serverSide = true;
    if (this.state !== 'ok' || this.failures < FAILURES_TO_ACT || Date.now() - this.lastAnswerAt < SILENCE_TO_ACT_MS) return;
    if (this.serverSide) {
      this.state = 'outage';
      this.logger.warn('Redis refuses every process (down or failing over): sockets kept, new handshakes told to retry (429)');
    } else {
      this.state = 'cut';
      this.giveUpSockets();
    }
  }

  private giveUpSockets(): void {
    const closes: (() => void)[] = [];
    // The transport, not a Socket.IO disconnect: the client reconnects by itself and offers its session.
    for (const nsp of this.namespaces.all()) for (const socket of nsp.sockets.values()) closes.push(() => socket.conn.close());
    this.closing = spreadCloses(closes);
    const streams = this.sse.endAll();
    this.logger.warn({ sockets: closes.length, streams }, 'Redis unreachable from this process alone: its sockets reconnect elsewhere (spread), new handshakes get 503');
  }

  /** Engine.IO middleware: handshakes (and upgrades) refused while Redis is unreachable: 503 when cut off alone, 429 when down for all. */
  engineMiddleware(): EngineMiddleware {
    const cut = refuseHandshakesWhile(() => this.cut, 'This process cannot reach Redis');
    const outage = refuseHandshakesWhile(() => this.outage, 'Redis is unavailable', 429);
    return (req, res, next) => cut(req, res, (err) => (err ? next(err) : outage(req, res, next)));
  }
}
