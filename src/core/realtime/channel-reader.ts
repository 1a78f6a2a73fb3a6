import { Logger } from '@nestjs/common';
import { realtimeChannelGapsTotal, realtimeEpochChangesTotal } from '../metrics/metrics';
import type { LoggedEvent, ShardLog } from './event-log';

/** The channel quiet this long: check that no event is missing at the end (`checkTail`). */
export const TAIL_CHECK_MS = 2000;

/** An event back in the inbox: fetched to fill a gap (delivered as is) or one that waited for the fill. */
export interface Requeued {
  event: LoggedEvent;
  filled: boolean;
}

/** Where a reader's events go (RealtimeHub): out in order, back into the inbox, or every client told to resync. */
export interface ChannelReaderOutput {
  deliver(e: LoggedEvent): void;
  /** Puts events back at the head of the inbox, in order (a filled gap, then what waited for it). */
  requeue(items: Requeued[]): void;
  /** Events were lost (or a new epoch began): every client of this process resyncs. */
  resyncAll(): void;
  /** The inbox still holds messages: a tail check would race them. */
  busy(): boolean;
  now(): number;
}

/**
 * One shard's channel (ShardLog): its ids are issued in order, so a jump is a
 * loss. The reader delivers each id once, in order; fills a hole from the
 * shard's global stream (later messages of this shard wait meanwhile, other
 * shards go on); notices a new epoch (event-log.ts) and the tail lost right
 * before the channel went quiet. What cannot be filled makes every client
 * resync: never a silent hole.
 */
export class ChannelReader {
  private readonly logger = new Logger('RealtimeHub');
  /** The last id delivered from this shard. */
  private lastId: number | null = null;
  /** Set while a gap is being filled from the global stream: later messages wait here, in order. */
  private waiting: LoggedEvent[] | null = null;
  /**
   * Ids up to here that a fill could not find are gone for good (the clients were told to resync): no
   * gap is looked for below it again. Without it the event that revealed such a hole found the same
   * hole again, and the reader refetched it (and resynced every client) forever.
   */
  private settledUpTo = 0;
  /** Whether this reader has delivered an event of its own yet (a start position is not one). */
  private deliveredAny = false;
  private lastMessageAt = 0;

  constructor(
    private readonly log: Pick<ShardLog, 'between' | 'position' | 'index'>,
    private readonly out: ChannelReaderOutput,
  ) {}

  get shard(): number {
    return this.log.index;
  }

  get deliveredId(): number | null {
    return this.lastId;
  }

  /**
   * Start after `id` (the shard's newest id when the process started, before it serves anyone):
   * what was published before is nobody's here, and a hole after it is filled like any other.
   */
  startAfter(id: number): boolean {
    if (this.lastId !== null) return false; // already delivering: its own position stands
    this.lastId = id;
    return true;
  }

  /** A message was read from this shard's channel (the tail check waits for quiet). */
  heard(): void {
    this.lastMessageAt = this.out.now();
  }

  /** The next event of this shard (from the channel, or one that waited for a fill). */
  accept(e: LoggedEvent): void {
    if (e.epoch !== undefined && this.lastId !== null && this.lastId < e.epoch) this.newEpoch(e.epoch);
    if (this.waiting) this.waiting.push(e);
    else if (this.lastId !== null && e.id > Math.max(this.lastId, this.settledUpTo) + 1) this.fillUpTo(Math.max(this.lastId, this.settledUpTo), e.id, [e]);
    else this.deliver(e);
  }

  /** An event fetched to fill a gap: delivered as is. */
  deliver(e: LoggedEvent): void {
    if (this.lastId !== null && e.id <= this.lastId) return;
    this.lastId = e.id;
    this.deliveredAny = true;
    this.out.deliver(e);
  }

  /**
   * The tail: a gap shows only when the next message arrives, so events lost on the channel right
   * before it went quiet (Redis dropped the subscriber at the end of a burst) would wait for the next
   * event, maybe forever. When nothing arrived for TAIL_CHECK_MS and nothing is queued, compare with the
   * newest id handed out and fill from the global stream. A false alarm (an event still on its way)
   * costs one read: `deliver` sends each id once.
   */
  checkTail(): void {
    if (this.lastId === null || this.waiting || this.out.busy() || this.out.now() - this.lastMessageAt < TAIL_CHECK_MS) return;
    const lastId = this.lastId;
    void this.log
      .position()
      .then(({ id: current, epoch }) => {
        if (current <= Math.max(lastId, this.settledUpTo) || this.lastId !== lastId || this.waiting || this.out.busy()) return;
        if (lastId < epoch) this.newEpoch(epoch);
        this.fillUpTo(Math.max(this.lastId, this.settledUpTo), current + 1, []);
      })
      .catch(() => undefined); // Redis unavailable: the next check tries again
  }

  /**
   * Redis drops a subscriber whose output buffer overflows (and any reconnect
   * loses what was published meanwhile). The ids tell: fetch lastId < id < toId
   * from the global stream and deliver them first, in order, then what waited
   * meanwhile. What is no longer there is counted and logged, and the clients
   * resync: never silently skipped.
   */
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
          this.logger.error({ shard: this.shard, from: lastId + 1, to: toId - 1, lost }, 'events missing from the channel and the global stream: clients resync');
          this.settledUpTo = Math.max(this.settledUpTo, toId - 1);
          this.out.resyncAll();
        }
        filled = missing;
      })
      .catch((err: Error) => {
        realtimeChannelGapsTotal.inc({ result: 'lost' }, toId - lastId - 1);
        this.logger.error({ err: err.message, shard: this.shard, from: lastId + 1, to: toId - 1 }, 'could not fill a gap on the channel: clients resync');
        this.settledUpTo = Math.max(this.settledUpTo, toId - 1);
        this.out.resyncAll();
      })
      .finally(() => {
        const queued = this.waiting ?? [];
        this.waiting = null;
        this.out.requeue([...filled.map((event) => ({ event, filled: true })), ...queued.map((event) => ({ event, filled: false }))]);
      });
  }

  /**
   * Redis started a new epoch (event-log.ts) after the last event this process delivered: what the
   * old epoch issued after it may be lost with the old data, and nothing can tell, so every client
   * resyncs (told recovered:false / gap when its history is gone). The new epoch is filled from its start.
   */
  private newEpoch(epoch: number): void {
    if (!this.deliveredAny) {
      // Only a start position (startAfter) came before: no client here holds anything of the old
      // epoch from this process, exactly as a process that had delivered nothing before (lastId null).
      this.lastId = epoch;
      return;
    }
    this.logger.warn({ shard: this.shard, lastId: this.lastId, epoch }, 'Redis started a new event epoch (failover or data loss): clients resync');
    realtimeEpochChangesTotal.inc();
    this.out.resyncAll();
    this.lastId = epoch;
  }
}
