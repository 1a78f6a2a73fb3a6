import { performance } from 'node:perf_hooks';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { realtimeChannelGapsTotal, realtimeEpochChangesTotal, realtimeShedTotal, socketMessagesSent, socketMessagesTotal } from '../metrics/metrics';
import { createRedis, RedisClient } from '../redis/redis.factory';
import { decodeChannelMessage, envelope, EventLog, LoggedEvent } from './event-log';
import { EventRouting, EventRoutingError } from './event-routing';

const SHED_CHECK_MS = 1000;
const SHED_MAX_PACKETS = 1000;
const SHED_MAX_BYTES = 1024 * 1024;
/** The longest the hub fans out in one go before it lets the event loop run (I/O, timers, the shed check). */
export const FANOUT_SLICE_MS = 50;
/** Channel messages read but not yet fanned out: above this the subscriber stops reading (Redis holds the rest). */
export const INBOX_PAUSE_AT = 5000;
export const INBOX_RESUME_AT = 1000;
/** The channel quiet this long: check that no event is missing at the end (`checkTail`). */
export const TAIL_CHECK_MS = 2000;

/** An event back in the inbox: fetched to fill a gap (delivered as is) or one that waited for the fill. */
interface Requeued {
  event: LoggedEvent;
  filled: boolean;
}

/** Live events held for a socket during its replay; `until` once the replay is done but the hub is behind it. */
interface Held {
  events: LoggedEvent[];
  until: number | null;
}

/** An open SSE stream: the rooms it listens to and how to write one event. */
export interface SseListener {
  rooms: Set<string>;
  /** Who opened it and with which credential (credentialTag), so logout and lost access can reach it. */
  userId?: number;
  credential?: number;
  deliver(e: LoggedEvent): void;
  /** Ends the stream; the client resumes from history with Last-Event-ID. */
  close?(): void;
}

/**
 * The api side of delivery: one subscriber connection per process receives
 * every event (from api processes and workers alike) and hands it to the
 * local sockets of the owning namespace and to local SSE streams. Sockets in
 * the middle of a recovery replay get live events buffered, so that what they
 * missed and what is new arrive in id order, each once.
 */
@Injectable()
export class RealtimeHub implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeHub.name);
  private subscriber?: RedisClient;
  private readonly namespaces = new Map<string, Namespace>();
  private readonly replaying = new Map<string, Map<string, Held>>();
  /** Sockets whose replay went further than the hub has delivered: held until it catches up (`endReplay`). */
  private readonly catchingUp = new Set<{ socket: Socket; held: Held }>();
  private readonly sse = new Map<string, Set<SseListener>>();
  sseClients = 0;
  /** The last id delivered from the channel: ids are global and published in order, so a jump is a loss. */
  private lastId: number | null = null;
  /** Set while a gap is being filled from the global stream: later messages wait here, in order. */
  private waiting: LoggedEvent[] | null = null;
  /**
   * Channel messages read from Redis, not yet fanned out (from `inboxHead` on). libuv reads up to
   * 2 MB from the subscriber per wakeup: fanning all of that out at once blocked the event loop for
   * 20 s under overload (bench/RESULTS.md), so it is done in slices, and reading stops while the inbox
   * is full: the backlog then waits in Redis, bounded by its pub/sub output buffer limit. Events
   * fetched to fill a gap go through here too (first, in order), never all at once.
   */
  private inbox: (string | Requeued)[] = [];
  private inboxHead = 0;
  private draining = false;
  private lastPauseLogAt = 0;
  private lastMessageAt = 0;
  private shedTimer?: NodeJS.Timeout;
  private lastWarningAt = 0;
  /** Handlers of control events (control-events.ts), registered by whoever acts on them. */
  private readonly controls = new Map<string, (payload: Record<string, unknown>) => void>();
  /** Set by the module: tells admins when slow sockets are shed (rate-limited to one a minute). */
  onShed?: (count: number) => void;

  constructor(
    private readonly config: AppConfig,
    private readonly log: EventLog,
    private readonly routing: EventRouting,
  ) {}

  async onModuleInit(): Promise<void> {
    const sub = createRedis(this.config.redis, { name: 'realtime-sub', failFast: false });
    sub.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'realtime subscriber error'));
    sub.on('message', (_channel: string, message: string) => this.receive(message));
    await sub.subscribe(this.log.channel);
    this.subscriber = sub;
    this.shedTimer = setInterval(() => (this.shedSlowSockets(), this.checkTail()), SHED_CHECK_MS);
    this.shedTimer.unref();
  }

  /** Every namespace some gateway declared events for has its gateway: an event routed there would reach nobody. */
  onApplicationBootstrap(): void {
    const missing = this.routing.namespaces().filter((name) => !this.namespaces.has(name));
    if (missing.length) throw new EventRoutingError(`Events are declared for ${missing.join(', ')} but no gateway serves it`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.shedTimer);
    this.inbox = [];
    this.inboxHead = 0;
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** A gateway's namespace (its afterInit): it must be one whose events some gateway declared (@NamespaceEvents). */
  attach(nsp: Namespace): void {
    if (!this.routing.namespaces().includes(nsp.name)) {
      throw new EventRoutingError(`The gateway of ${nsp.name} declares no server events: add @NamespaceEvents({ namespace: '${nsp.name}', events: [...] })`);
    }
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
    this.replaying.get(socket.nsp.name)?.set(socket.id, { events: [], until: null });
  }

  /**
   * Sends events after `lastSentId` that arrived live during the replay, then resumes live delivery.
   * The replay reads history in Redis, which is ahead of this hub when it is behind the channel
   * (overload): live delivery then resumes only once the hub has passed `lastSentId`, so nothing
   * replayed is sent again, and what is held meanwhile is only what the replay did not send.
   */
  endReplay(socket: Socket, lastSentId: number): void {
    const sockets = this.replaying.get(socket.nsp.name);
    const held = sockets?.get(socket.id);
    if (!sockets || !held) return;
    if (socket.connected && (this.lastId ?? 0) < lastSentId) {
      held.until = lastSentId;
      held.events = held.events.filter((e) => e.id > lastSentId);
      this.catchingUp.add({ socket, held });
      return;
    }
    sockets.delete(socket.id);
    for (const entry of this.catchingUp) if (entry.held === held) this.catchingUp.delete(entry);
    if (socket.connected) for (const e of held.events) if (e.id > lastSentId) emitTo(socket, e);
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

  /** The SSE streams listening to a room on this process. */
  sseListenersOf(room: string): SseListener[] {
    return [...(this.sse.get(room) ?? [])];
  }

  /** The stream stops carrying these rooms (the user lost them). */
  dropSseRooms(listener: SseListener, rooms: string[]): void {
    for (const room of rooms) {
      if (!listener.rooms.delete(room)) continue;
      const set = this.sse.get(room);
      set?.delete(listener);
      if (set && !set.size) this.sse.delete(room);
    }
  }

  /** `handler` runs for every control event of this type, in id order with the events around it. */
  onControl(type: string, handler: (payload: Record<string, unknown>) => void): void {
    this.controls.set(type, handler);
  }

  sseRoomSizes(): Map<string, number> {
    return new Map([...this.sse].map(([room, set]) => [room, set.size]));
  }

  /** A channel message: queued, fanned out in slices (see `inbox`). */
  receive(message: string): void {
    this.lastMessageAt = Date.now();
    this.inbox.push(message);
    if (this.inbox.length - this.inboxHead >= INBOX_PAUSE_AT) this.pauseReading();
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drainInbox);
    }
  }

  private readonly drainInbox = (): void => {
    const until = performance.now() + FANOUT_SLICE_MS;
    while (this.inboxHead < this.inbox.length && performance.now() < until) {
      try {
        this.onMessage(this.inbox[this.inboxHead++]);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'realtime fan-out failed');
      }
    }
    if (this.inboxHead === this.inbox.length || this.inboxHead > 4096) {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
    }
    const pending = this.inbox.length - this.inboxHead;
    if (pending <= INBOX_RESUME_AT) this.resumeReading();
    if (pending) setImmediate(this.drainInbox);
    else this.draining = false;
  };

  /** The subscriber's socket (a single Redis connection; a Redis Cluster client has none and is not paused). */
  private subscriberStream(): { isPaused(): boolean; pause(): void; resume(): void } | undefined {
    return (this.subscriber as { stream?: { isPaused(): boolean; pause(): void; resume(): void } } | undefined)?.stream;
  }

  private pauseReading(): void {
    const stream = this.subscriberStream();
    if (!stream || stream.isPaused()) return;
    stream.pause();
    if (Date.now() - this.lastPauseLogAt > 60000) {
      this.lastPauseLogAt = Date.now();
      this.logger.warn({ queued: this.inbox.length - this.inboxHead }, 'fan-out behind the channel: reading paused, Redis holds the backlog');
    }
  }

  private resumeReading(): void {
    const stream = this.subscriberStream();
    if (stream?.isPaused()) stream.resume();
  }

  private onMessage(item: string | Requeued): void {
    if (typeof item !== 'string') {
      if (item.filled) this.deliver(item.event);
      else this.onDecoded(item.event);
      return;
    }
    let e: LoggedEvent;
    try {
      e = decodeChannelMessage(item);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'undecodable realtime message dropped');
      return;
    }
    this.onDecoded(e);
  }

  /** Puts events back at the head of the inbox, in order (a filled gap, then what waited for it). */
  private requeue(items: Requeued[]): void {
    if (!items.length) return;
    this.inbox = [...items, ...this.inbox.slice(this.inboxHead)];
    this.inboxHead = 0;
    if (this.inbox.length >= INBOX_PAUSE_AT) this.pauseReading();
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drainInbox);
    }
  }

  private deliver(e: LoggedEvent): void {
    if (this.lastId !== null && e.id <= this.lastId) return;
    this.lastId = e.id;
    // No room: a control event for the processes, never for clients (an empty room list would address every socket).
    if (!e.rooms.length) this.controls.get(e.eventType)?.(e.payload);
    else if (e.target !== 'sse') this.deliverToSockets(e);
    if (e.rooms.length && e.target !== 'websocket') this.deliverToSse(e);
    if (this.catchingUp.size) for (const { socket, held } of this.catchingUp) if (e.id >= (held.until ?? 0)) this.endReplay(socket, held.until ?? 0);
  }

  /**
   * Redis drops a subscriber whose output buffer overflows (and any reconnect
   * loses what was published meanwhile). The ids tell: fetch the missing ones
   * from the global stream and deliver them first, in order. What is no
   * longer there is counted and logged, and the clients resync (`resyncAll`):
   * never silently skipped.
   */
  private fillGap(lastId: number, next: LoggedEvent): void {
    this.fillUpTo(lastId, next.id, [next]);
  }

  /** Delivers lastId < id < toId from the global stream, then what waited meanwhile. */
  private fillUpTo(lastId: number, toId: number, waiting: LoggedEvent[]): void {
    this.waiting = waiting;
    let filled: LoggedEvent[] = [];
    void this.log
      .between(lastId, toId)
      .then((missing) => {
        const lost = toId - lastId - 1 - missing.length;
        realtimeChannelGapsTotal.inc({ result: 'filled' }, missing.length);
        if (lost > 0) {
          realtimeChannelGapsTotal.inc({ result: 'lost' }, lost);
          this.logger.error({ from: lastId + 1, to: toId - 1, lost }, 'events missing from the channel and the global stream: clients resync');
          this.resyncAll();
        }
        filled = missing;
      })
      .catch((err: Error) => {
        realtimeChannelGapsTotal.inc({ result: 'lost' }, toId - lastId - 1);
        this.logger.error({ err: err.message, from: lastId + 1, to: toId - 1 }, 'could not fill a gap on the channel: clients resync');
        this.resyncAll();
      })
      .finally(() => {
        const queued = this.waiting ?? [];
        this.waiting = null;
        this.requeue([...filled.map((event) => ({ event, filled: true })), ...queued.map((event) => ({ event, filled: false }))]);
      });
  }

  /** Ends every SSE stream of this process (its clients resume elsewhere with Last-Event-ID). */
  endSseStreams(): number {
    const listeners = new Set([...this.sse.values()].flatMap((set) => [...set]));
    for (const listener of listeners) listener.close?.();
    return listeners.size;
  }

  /**
   * Events this process could not deliver (gone from the channel and from the global stream) must not
   * leave its clients with a silent hole: every socket is disconnected (it reconnects and recovers from
   * its rooms' history, or is told `recovered: false`) and every SSE stream ends (Last-Event-ID).
   */
  private resyncAll(): void {
    // The engine connection is closed, not the socket: a client told "io server disconnect" stays
    // away for good, while a closed transport makes it reconnect and recover (or hear recovered:false).
    for (const nsp of this.namespaces.values()) for (const socket of [...nsp.sockets.values()]) socket.conn.close();
    for (const listeners of [...this.sse.values()]) for (const listener of [...listeners]) listener.close?.();
  }

  /**
   * Redis started a new epoch (event-log.ts) after the last event this process delivered: what the
   * old epoch issued after it may be lost with the old data, and nothing can tell, so every client
   * resyncs (told recovered:false / gap when its history is gone). The new epoch is filled from its start.
   */
  private newEpoch(epoch: number): void {
    this.logger.warn({ lastId: this.lastId, epoch }, 'Redis started a new event epoch (failover or data loss): clients resync');
    realtimeEpochChangesTotal.inc();
    this.resyncAll();
    this.lastId = epoch;
  }

  /**
   * The tail: a gap shows only when the next message arrives, so events lost on the channel right
   * before it went quiet (Redis dropped the subscriber at the end of a burst) would wait for the next
   * event, maybe forever. When nothing arrived for a while and nothing is queued, compare with the
   * newest id handed out and fill from the global stream. A false alarm (an event still on its way)
   * costs one read: `deliver` sends each id once.
   */
  private checkTail(): void {
    if (this.lastId === null || this.waiting || this.draining || Date.now() - this.lastMessageAt < TAIL_CHECK_MS) return;
    const lastId = this.lastId;
    void this.log
      .position()
      .then(({ id: current, epoch }) => {
        if (current <= lastId || this.lastId !== lastId || this.waiting || this.draining) return;
        if (lastId < epoch) this.newEpoch(epoch);
        this.fillUpTo(this.lastId, current + 1, []);
      })
      .catch(() => undefined); // Redis unavailable: the next check tries again
  }

  private onDecoded(e: LoggedEvent): void {
    if (e.epoch !== undefined && this.lastId !== null && this.lastId < e.epoch) this.newEpoch(e.epoch);
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
    for (const name of this.routing.namespacesFor(e.eventType)) {
      const nsp = this.namespaces.get(name);
      if (!nsp) continue;
      const replaying = this.replaying.get(name);
      let op = nsp.to(e.rooms);
      const skip = this.routing.roomToSkip(e.eventType, e.payload);
      if (skip) op = op.except(skip);
      if (replaying?.size) {
        const held = [...replaying.keys()];
        op = op.except(held);
        for (const socketId of held) {
          const socket = nsp.sockets.get(socketId);
          const held = replaying.get(socketId);
          if (socket && held && (held.until === null || e.id > held.until) && e.rooms.some((r) => socket.rooms.has(r)) && !(skip && socket.rooms.has(skip))) held.events.push(e);
        }
      }
      // The id is the last argument: socket.io-client keeps it as the recovery offset.
      op.emit(e.eventType, envelope(e), String(e.id));
      socketMessagesTotal.inc({ namespace: name, event: e.eventType, direction: 'out' });
      socketMessagesSent.inc({ namespace: name });
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
  socketMessagesSent.inc({ namespace: socket.nsp.name });
}
