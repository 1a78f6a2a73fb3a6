import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { realtimeChannelGapsTotal, realtimeEpochChangesTotal, socketMessagesSent, socketMessagesTotal } from '../metrics/metrics';
import { ChannelSubscriber } from './channel-subscriber';
import { spreadCloses } from './close-spread';
import { decodeChannelMessage, envelope, EventLog, LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { ReplayHolds } from './replay-holds';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

/** The longest the hub fans out in one go before it lets the event loop run (I/O, timers). */
export const FANOUT_SLICE_MS = 50;
/** Channel messages read but not yet fanned out: above this the subscriber stops reading (Redis holds the rest). */
export const INBOX_PAUSE_AT = 5000;
export const INBOX_RESUME_AT = 1000;
/** The channel quiet this long: check that no event is missing at the end (`checkTail`). */
export const TAIL_CHECK_MS = 2000;
const TAIL_CHECK_EVERY_MS = 1000;

/** Time as the hub sees it: a clock for slices and quiet periods, and how the next slice is scheduled. */
export interface FanoutClock {
  now(): number;
  defer(fn: () => void): void;
}
export const FANOUT_CLOCK = Symbol('FANOUT_CLOCK');
const realClock: FanoutClock = { now: () => performance.now(), defer: (fn) => setImmediate(fn) };

/** An event back in the inbox: fetched to fill a gap (delivered as is) or one that waited for the fill. */
interface Requeued {
  event: LoggedEvent;
  filled: boolean;
}

export type { SseListener } from './sse-registry';

/**
 * The api side of delivery: every event (from api processes and workers
 * alike) arrives on one channel (ChannelSubscriber), in id order; the hub
 * makes sure none is missing (gap filling from the global stream, epochs) and
 * hands each to the local sockets of the namespaces that deliver it
 * (EventRouting), to local SSE streams (SseRegistry) and, for control events,
 * to their handler. Sockets in the middle of a recovery replay get live
 * events held (ReplayHolds).
 */
@Injectable()
export class RealtimeHub implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeHub.name);
  private readonly holds = new ReplayHolds();
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
  private lastPauseLogAt = Number.NEGATIVE_INFINITY;
  private lastMessageAt = 0;
  private tailTimer?: NodeJS.Timeout;
  /** Handlers of control events (control-events.ts), registered by whoever acts on them. */
  private readonly controls = new Map<string, (payload: Record<string, unknown>) => void>();
  private readonly clock: FanoutClock;

  constructor(
    private readonly log: EventLog,
    private readonly routing: EventRouting,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
    private readonly subscriber: ChannelSubscriber,
    @Optional() @Inject(FANOUT_CLOCK) clock?: FanoutClock,
  ) {
    this.clock = clock ?? realClock;
  }

  async onModuleInit(): Promise<void> {
    await this.subscriber.subscribe(this.log.channel, (message) => this.receive(message));
    this.tailTimer = setInterval(() => this.checkTail(), TAIL_CHECK_EVERY_MS);
    this.tailTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.tailTimer);
    this.inbox = [];
    this.inboxHead = 0;
  }

  /** Live events for this socket are held back until `endReplay`. */
  beginReplay(socket: Socket): void {
    this.holds.begin(socket);
  }

  /** The replay sent everything up to `lastSentId` (ReplayHolds.end); a disconnect ends it with MAX_SAFE_INTEGER. */
  endReplay(socket: Socket, lastSentId: number): void {
    this.holds.end(socket, lastSentId, this.lastId, emitTo);
  }

  /** `handler` runs for every control event of this type, in id order with the events around it. */
  onControl(type: string, handler: (payload: Record<string, unknown>) => void): void {
    this.controls.set(type, handler);
  }

  /** A channel message: queued, fanned out in slices (see `inbox`). */
  receive(message: string): void {
    this.lastMessageAt = this.clock.now();
    this.inbox.push(message);
    if (this.inbox.length - this.inboxHead >= INBOX_PAUSE_AT) this.pauseReading();
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    this.clock.defer(this.drainInbox);
  }

  private readonly drainInbox = (): void => {
    const until = this.clock.now() + FANOUT_SLICE_MS;
    while (this.inboxHead < this.inbox.length && this.clock.now() < until) {
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
    if (pending <= INBOX_RESUME_AT) this.subscriber.resume();
    if (pending) this.clock.defer(this.drainInbox);
    else this.draining = false;
  };

  private pauseReading(): void {
    if (!this.subscriber.pause()) return;
    const now = this.clock.now();
    if (now - this.lastPauseLogAt > 60000) {
      this.lastPauseLogAt = now;
      this.logger.warn({ queued: this.inbox.length - this.inboxHead }, 'fan-out behind the channel: reading paused, Redis holds the backlog');
    }
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
    this.scheduleDrain();
  }

  private deliver(e: LoggedEvent): void {
    if (this.lastId !== null && e.id <= this.lastId) return;
    this.lastId = e.id;
    // No room: a control event for the processes, never for clients (an empty room list would address every socket).
    if (!e.rooms.length) this.controls.get(e.eventType)?.(e.payload);
    else if (e.target !== 'sse') this.deliverToSockets(e);
    if (e.rooms.length && e.target !== 'websocket') this.sse.deliver(e);
    this.holds.delivered(e.id, emitTo);
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

  /**
   * Events this process could not deliver (gone from the channel and from the global stream) must not
   * leave its clients with a silent hole: every socket is disconnected (it reconnects and recovers from
   * its rooms' history, or is told `recovered: false`) and every SSE stream ends (Last-Event-ID).
   */
  private resyncAll(): void {
    // The engine connection is closed, not the socket: a client told "io server disconnect" stays
    // away for good, while a closed transport makes it reconnect and recover (or hear recovered:false).
    // Every process resyncs at once after a failover, so the closes are spread (close-spread.ts); until
    // its turn a socket gets no live event (ReplayHolds.holdUntilClosed), so it resumes from before the hole.
    const closes: (() => void)[] = [];
    for (const nsp of this.namespaces.all()) for (const socket of [...nsp.sockets.values()]) closes.push(this.holds.holdUntilClosed(socket));
    spreadCloses(closes);
    this.sse.endAll();
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
   * event, maybe forever. When nothing arrived for TAIL_CHECK_MS and nothing is queued, compare with the
   * newest id handed out and fill from the global stream. A false alarm (an event still on its way)
   * costs one read: `deliver` sends each id once. Runs every second.
   */
  checkTail(): void {
    if (this.lastId === null || this.waiting || this.draining || this.clock.now() - this.lastMessageAt < TAIL_CHECK_MS) return;
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

  private deliverToSockets(e: LoggedEvent): void {
    const skip = this.routing.roomToSkip(e.eventType, e.payload);
    for (const name of this.routing.namespacesFor(e.eventType)) {
      const nsp = this.namespaces.get(name);
      if (!nsp) continue;
      let op = nsp.to(e.rooms);
      if (skip) op = op.except(skip);
      const held = this.holds.holdFor(nsp.sockets, name, e, skip);
      if (held.length) op = op.except(held);
      // The id is the last argument: socket.io-client keeps it as the recovery offset.
      op.emit(e.eventType, envelope(e), String(e.id));
      socketMessagesTotal.inc({ namespace: name, event: e.eventType, direction: 'out' });
      socketMessagesSent.inc({ namespace: name });
    }
  }
}

export function emitTo(socket: Socket, e: LoggedEvent): void {
  socket.emit(e.eventType, envelope(e), String(e.id));
  socketMessagesTotal.inc({ namespace: socket.nsp.name, event: e.eventType, direction: 'out' });
  socketMessagesSent.inc({ namespace: socket.nsp.name });
}
