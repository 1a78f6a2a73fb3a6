import type { SlotWaker } from './slot-waker';

/**
 * Laravel's --sleep over BullMQ's markers: an idle queue:work looks through its queues again every
 * `everyMs` even without a marker, since a delayed or retried job coming due is only promoted by a
 * fetch, and another worker process may have taken a queue's marker. One look goes through every
 * queue in priority order (StrictPriority.first), so the clock restarts at each look, whichever slot
 * made it and why: an idle worker makes one look per --sleep (not one per queue, nor one per idle
 * slot), and a worker whose slots are all busy makes none.
 */
export class IdleLook {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly waker: SlotWaker,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      if (this.waker.idleCount > 0) this.waker.wakeOne();
    }, this.everyMs);
  }

  /** A slot starts looking from the first queue: the next idle look is due `everyMs` from now. */
  looked(): void {
    this.timer?.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
