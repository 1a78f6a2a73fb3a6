import { IdleLook } from './idle-look';
import { SlotWaker } from './slot-waker';

describe('IdleLook', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function idleSlots(waker: SlotWaker, n: number): { woke: number } {
    const counter = { woke: 0 };
    for (let i = 0; i < n; i++) void waker.idle().then(() => counter.woke++);
    return counter;
  }

  it('wakes one idle slot per period, not every idle slot', async () => {
    const waker = new SlotWaker();
    const look = new IdleLook(waker, 1000);
    const counter = idleSlots(waker, 10);
    look.start();
    await jest.advanceTimersByTimeAsync(999);
    expect(counter.woke).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(counter.woke).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(counter.woke).toBe(2);
    look.stop();
  });

  it('restarts the period at every look a slot makes, whatever woke it', async () => {
    const waker = new SlotWaker();
    const look = new IdleLook(waker, 1000);
    const counter = idleSlots(waker, 2);
    look.start();
    await jest.advanceTimersByTimeAsync(800);
    look.looked(); // a marker woke a slot, which looked through every queue
    await jest.advanceTimersByTimeAsync(999);
    expect(counter.woke).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(counter.woke).toBe(1);
    look.stop();
  });

  it('does nothing while no slot is idle', async () => {
    const waker = new SlotWaker();
    const look = new IdleLook(waker, 1000);
    look.start();
    const g = waker.generation;
    await jest.advanceTimersByTimeAsync(5000);
    expect(waker.generation).toBe(g);
    look.stop();
  });
});
