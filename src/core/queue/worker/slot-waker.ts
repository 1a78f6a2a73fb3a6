/**
 * Where idle slots of queue:work wait. A marker (or the idle poll) wakes ONE slot; a slot that
 * found a job wakes the next, as BullMQ's own loop fetches one at a time, so one new job does not
 * send every idle slot to Redis. The generation tells a slot that was looking while a wake-up came
 * to look again instead of going to sleep.
 */
export class SlotWaker {
  private waiters: Array<() => void> = [];
  private wakeups = 0;

  /** Bumped by every wake-up signal (wakeOne, wakeAll). */
  get generation(): number {
    return this.wakeups;
  }

  get idleCount(): number {
    return this.waiters.length;
  }

  /** Resolves when a wake-up reaches this slot. */
  idle(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** A marker fired: one idle slot looks, and a slot looking right now looks again. */
  wakeOne(): void {
    this.wakeups++;
    this.waiters.shift()?.();
  }

  /** A slot found a job, so there may be more: the next idle slot looks (no generation bump). */
  wakeNext(): void {
    this.waiters.shift()?.();
  }

  wakeAll(): void {
    this.wakeups++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
