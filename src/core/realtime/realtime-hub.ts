import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { realtimeChannelGapsTotal, realtimeShedTotal, socketMessagesTotal } from '../metrics/metrics';
import { createRedis, RedisClient } from '../redis/redis.factory';
import { decodeChannelMessage, envelope, EventLog, LoggedEvent } from './event-log';
import { namespacesFor } from './room-name';

const SHED_CHECK_MS = 1000;
const SHED_MAX_PACKETS = 1000;
const SHED_MAX_BYTES = 1024 * 1024;

/** An open SSE stream: the rooms it listens to and how to write one event. */
export interface SseListener {
  rooms: Set<string>;
  deliver(e: LoggedEvent): void;
}

/**
 * The api side of delivery: one subscriber connection per process receives
 * every event (from api processes and workers alike) and hands it to the
 * local sockets of the owning namespace and to local SSE streams. Sockets in
 * the middle of a recovery replay get live events buffered, so that what they
 * missed and what is new arrive in id order, each once.
 */
@Injectable()
export class RealtimeHub implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeHub.name);
  private subscriber?: RedisClient;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly replaying = new Map<string, Map<string, LoggedEvent[]>>();
  private readonly sse = new Map<string, Set<SseListener>>();
  sseClients = 0;
  /** The last id delivered from the channel: ids are global and published in order, so a jump is a loss. */
  private lastId: number | null = null;
  /** Set while a gap is being filled from the global stream: later messages wait here, in order. */
  private waiting: LoggedEvent[] | null = null;
  private shedTimer?: NodeJS.Timeout;
  private lastWarningAt = 0;
  /** Set by the module: tells admins when slow sockets are shed (rate-limited to one a minute). */
  onShed?: (count: number) => void;

  constructor(
    private readonly config: AppConfig,
    private readonly log: EventLog,
  ) {}

  async onModuleInit(): Promise<void> {
    const sub = createRedis(this.config.redis, { name: 'realtime-sub', failFast: false });
    sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'realtime subscriber error'));
    sub.on('message', (_channel: string, message: string) => this.onMessage(message));
    await sub.subscribe(this.log.channel);
    this.subscriber = sub;
    this.shedTimer = setInterval(() => this.shedSlowSockets(), SHED_CHECK_MS);
    this.shedTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.shedTimer);
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  attach(nsp: Namespace): void {
    this.namespaces.set(nsp.name, nsp);
    this.replaying.set(nsp.name, new Map());
  }

  namespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  allNamespaces(): Namespace[] {
    return [...this.namespaces.values()];
  }

  /** Live events for this socket are held back until `endReplay`. */
  beginReplay(socket: Socket): void {
    this.replaying.get(socket.nsp.name)?.set(socket.id, []);
  }

  /** Sends events after `lastSentId` that arrived live during the replay, then resumes live delivery. */
  endReplay(socket: Socket, lastSentId: number): void {
    const buffered = this.replaying.get(socket.nsp.name)?.get(socket.id) ?? [];
    this.replaying.get(socket.nsp.name)?.delete(socket.id);
    for (const e of buffered) if (e.id > lastSentId) emitTo(socket, e);
  }

  addSse(listener: SseListener): () => void {
    for (const room of listener.rooms) {
      let set = this.sse.get(room);
      if (!set) this.sse.set(room, (set = new Set()));
      set.add(listener);
    }
    this.sseClients++;
    return () => {
      this.sseClients--;
      for (const room of listener.rooms) {
        const set = this.sse.get(room);
        set?.delete(listener);
        if (set && !set.size) this.sse.delete(room);
      }
    };
  }

  sseRoomSizes(): Map<string, number> {
    return new Map([...this.sse].map(([room, set]) => [room, set.size]));
  }

  private onMessage(message: string): void {
    let e: LoggedEvent;
    try {
      e = decodeChannelMessage(message);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'undecodable realtime message dropped');
      return;
    }
    if (this.waiting) {
      this.waiting.push(e);
      return;
    }
    if (this.lastId !== null && e.id > this.lastId + 1) {
      this.fillGap(this.lastId, e);
      return;
    }
    this.deliver(e);
  }

  private deliver(e: LoggedEvent): void {
    if (this.lastId !== null && e.id <= this.lastId) return;
    this.lastId = e.id;
    if (e.target !== 'sse') this.deliverToSockets(e);
    if (e.target !== 'websocket') this.deliverToSse(e);
  }

  /**
   * Redis drops a subscriber whose output buffer overflows (and any reconnect
   * loses what was published meanwhile). The ids tell: fetch the missing ones
   * from the global stream and deliver them first, in order. What is no
   * longer there is counted and logged, never silently skipped.
   */
  private fillGap(lastId: number, next: LoggedEvent): void {
    this.waiting = [next];
    void this.log
      .between(lastId, next.id)
      .then((missing) => {
        const lost = next.id - lastId - 1 - missing.length;
        realtimeChannelGapsTotal.inc({ result: 'filled' }, missing.length);
        if (lost > 0) {
          realtimeChannelGapsTotal.inc({ result: 'lost' }, lost);
          this.logger.error({ from: lastId + 1, to: next.id - 1, lost }, 'events missing from the channel and the global stream');
        }
        for (const e of missing) this.deliver(e);
      })
      .catch((err: Error) => {
        realtimeChannelGapsTotal.inc({ result: 'lost' }, next.id - lastId - 1);
        this.logger.error({ err: err.message, from: lastId + 1, to: next.id - 1 }, 'could not fill a gap on the channel');
      })
      .finally(() => {
        const queued = this.waiting ?? [];
        this.waiting = null;
        for (const e of queued) this.onDecoded(e);
      });
  }

  private onDecoded(e: LoggedEvent): void {
    if (this.waiting) this.waiting.push(e);
    else if (this.lastId !== null && e.id > this.lastId + 1) this.fillGap(this.lastId, e);
    else this.deliver(e);
  }

  /**
   * Shedding policy: a socket whose unsent output passes the bound is
   * disconnected (counted in realtime_shed_total, admins get system:warning).
   * It loses nothing silently: it reconnects and recovers from history, or is
   * told recovered=false and refetches. Memory stays bounded under overload.
   */
  private shedSlowSockets(): void {
    let shed = 0;
    for (const nsp of this.namespaces.values()) {
      for (const socket of nsp.sockets.values()) {
        const conn = socket.conn as unknown as { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };
        const pending = conn.writeBuffer?.length ?? 0;
        const buffered = conn.transport?.socket?.bufferedAmount ?? 0;
        if (pending > SHED_MAX_PACKETS || buffered > SHED_MAX_BYTES) {
          shed++;
          socket.disconnect(true);
        }
      }
    }
    if (!shed) return;
    realtimeShedTotal.inc({ transport: 'websocket' }, shed);
    this.logger.warn({ shed }, 'slow sockets shed');
    if (Date.now() - this.lastWarningAt > 60000) {
      this.lastWarningAt = Date.now();
      this.onShed?.(shed);
    }
  }

  private deliverToSockets(e: LoggedEvent): void {
    for (const name of namespacesFor(e.eventType)) {
      const nsp = this.namespaces.get(name);
      if (!nsp) continue;
      const replaying = this.replaying.get(name);
      let op = nsp.to(e.rooms);
      if (replaying?.size) {
        const held = [...replaying.keys()];
        op = op.except(held);
        for (const socketId of held) {
          const socket = nsp.sockets.get(socketId);
          if (socket && e.rooms.some((r) => socket.rooms.has(r))) replaying.get(socketId)?.push(e);
        }
      }
      // The id is the last argument: socket.io-client keeps it as the recovery offset.
      op.emit(e.eventType, envelope(e), String(e.id));
      socketMessagesTotal.inc({ namespace: name, event: e.eventType, direction: 'out' });
    }
  }

  private deliverToSse(e: LoggedEvent): void {
    const seen = new Set<SseListener>();
    for (const room of e.rooms) {
      for (const listener of this.sse.get(room) ?? []) {
        if (seen.has(listener)) continue;
        seen.add(listener);
        listener.deliver(e);
      }
    }
  }
}

export function emitTo(socket: Socket, e: LoggedEvent): void {
  socket.emit(e.eventType, envelope(e), String(e.id));
  socketMessagesTotal.inc({ namespace: socket.nsp.name, event: e.eventType, direction: 'out' });
}
