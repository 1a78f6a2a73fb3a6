import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { ChannelReader, Requeued } from './channel-reader';
import { ChannelSubscriber } from './channel-subscriber';
import { decodeChannelMessage, EventLog, LoggedEvent } from './event-log';
import { LocalFanout } from './local-fanout';

export { emitTo } from './local-fanout';
export { TAIL_CHECK_MS } from './channel-reader';

/** The longest the hub fans out in one go before it lets the event loop run (I/O, timers). */
export const FANOUT_SLICE_MS = 50;
/** Channel messages read but not yet fanned out: above this the subscriber stops reading (Redis holds the rest). */
export const INBOX_PAUSE_AT = 5000;
export const INBOX_RESUME_AT = 1000;
const TAIL_CHECK_EVERY_MS = 1000;

/** Time as the hub sees it: a clock for slices and quiet periods, and how the next slice is scheduled. */
export interface FanoutClock {
  now(): number;
  defer(fn: () => void): void;
}
export const FANOUT_CLOCK = Symbol('FANOUT_CLOCK');
const realClock: FanoutClock = { now: () => performance.now(), defer: (fn) => setImmediate(fn) };

/** A message of a shard other than 0 (shard 0's stay plain strings: one shard allocates nothing more than before). */
interface Inbound {
  shard: number;
  message: string;
}

export type { SseListener } from './sse-registry';

/**
 * The api side of delivery: every event (from api processes and workers
 * alike) arrives on its shard's channel (ChannelSubscriber); one ChannelReader
 * per shard keeps that shard in order with nothing missing, and LocalFanout
 * hands each event to the local sockets, SSE streams and control handlers.
 * The hub itself is the inbox between them: read from Redis, fanned out in
 * slices, reading paused while behind.
 */
@Injectable()
export class RealtimeHub implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeHub.name);
  private readonly readers: ChannelReader[];
  /**
   * Channel messages read from Redis, not yet fanned out (from `inboxHead` on). libuv reads up to
   * 2 MB from the subscriber per wakeup: fanning all of that out at once blocked the event loop for
   * 20 s under overload (bench/RESULTS.md), so it is done in slices, and reading stops while the inbox
   * is full: the backlog then waits in Redis, bounded by its pub/sub output buffer limit. Events
   * fetched to fill a gap go through here too (first, in order), never all at once.
   */
  private inbox: (string | Inbound | Requeued)[] = [];
  private inboxHead = 0;
  private draining = false;
  private lastPauseLogAt = Number.NEGATIVE_INFINITY;
  private tailTimer?: NodeJS.Timeout;
  private readonly clock: FanoutClock;

  constructor(
    private readonly log: EventLog,
    private readonly fanout: LocalFanout,
    private readonly subscriber: ChannelSubscriber,
    @Optional() @Inject(FANOUT_CLOCK) clock?: FanoutClock,
  ) {
    this.clock = clock ?? realClock;
    const output = {
      deliver: (e: LoggedEvent) => this.fanout.deliver(e),
      requeue: (items: Requeued[]) => this.requeue(items),
      resyncAll: () => this.fanout.resyncAll(),
      busy: () => this.draining,
      now: () => this.clock.now(),
    };
    this.readers = log.shards.map((shard) => new ChannelReader(shard, output));
  }

  async onModuleInit(): Promise<void> {
    const channels = this.log.shards.map((s) => ({ channel: s.channel, sharded: s.sharded }));
    await this.subscriber.subscribe(channels, (message, shard) => this.receive(message, shard));
    if (this.readers.length > 1) await this.startPositions();
    this.tailTimer = setInterval(() => this.checkTail(), TAIL_CHECK_EVERY_MS);
    this.tailTimer.unref();
  }

  /**
   * Several shards: the watermark on the wire has a component for every shard from the first event
   * on, so each starts at the shard's newest id now (before this process serves anyone; what was
   * published before is no client's here). A component left at 0 would make a client resuming from it
   * replay that shard's whole history. Redis unavailable: they start at 0 (more replayed, never less).
   */
  private async startPositions(): Promise<void> {
    try {
      const newest = await this.log.currentPosition();
      newest.forEach((id, shard) => {
        // A shard that never issued an id starts with its first event, as one shard always did (its
        // first id opens an epoch, which after a start at 0 would look like a new one: a needless resync).
        if (id > 0 && this.readers[shard].startAfter(id)) this.fanout.startAt(shard, id);
      });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'shard positions unavailable at start: they start at 0');
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.tailTimer);
    this.inbox = [];
    this.inboxHead = 0;
  }

  /** Live events for this socket are held back until `endReplay`. */
  beginReplay(socket: Socket): void {
    this.fanout.beginReplay(socket);
  }

  /**
   * The replay sent everything up to `lastSent` (a wire position, ReplayHolds.end); a disconnect
   * ends it with Number.MAX_SAFE_INTEGER.
   */
  endReplay(socket: Socket, lastSent: string | number): void {
    const shards = this.readers.length;
    let position: readonly number[];
    if (typeof lastSent === 'number') position = new Array<number>(shards).fill(lastSent);
    else {
      const parsed = this.log.parse(lastSent);
      // Not one of ours (cannot happen: recovery refuses those): hold nothing back.
      position = parsed?.kind === 'at' ? parsed.position : new Array<number>(shards).fill(0);
    }
    this.fanout.endReplay(socket, position);
  }

  /** `handler` runs for every control event of this type, in order with the events around it. */
  onControl(type: string, handler: (payload: Record<string, unknown>) => void): void {
    this.fanout.onControl(type, handler);
  }

  /** A channel message of shard `shard`: queued, fanned out in slices (see `inbox`). */
  receive(message: string, shard = 0): void {
    this.readers[shard].heard();
    this.inbox.push(shard === 0 ? message : { shard, message });
    if (this.inbox.length - this.inboxHead >= INBOX_PAUSE_AT) this.pauseReading();
    this.scheduleDrain();
  }

  /** Every shard's tail (ChannelReader.checkTail); runs every second. */
  checkTail(): void {
    for (const reader of this.readers) reader.checkTail();
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

  private onMessage(item: string | Inbound | Requeued): void {
    if (typeof item === 'string') {
      this.decode(item, 0);
      return;
    }
    if ('message' in item) {
      this.decode(item.message, item.shard);
      return;
    }
    const reader = this.readers[item.event.shard ?? 0];
    if (item.filled) reader.deliver(item.event);
    else reader.accept(item.event);
  }

  private decode(message: string, shard: number): void {
    let e: LoggedEvent;
    try {
      e = decodeChannelMessage(message, shard);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'undecodable realtime message dropped');
      return;
    }
    this.readers[shard].accept(e);
  }

  /** Puts events back at the head of the inbox, in order (a filled gap, then what waited for it). */
  private requeue(items: Requeued[]): void {
    if (!items.length) return;
    this.inbox = [...items, ...this.inbox.slice(this.inboxHead)];
    this.inboxHead = 0;
    if (this.inbox.length >= INBOX_PAUSE_AT) this.pauseReading();
    this.scheduleDrain();
  }
}
