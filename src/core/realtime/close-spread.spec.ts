import { CLOSES_PER_SECOND, MAX_SPREAD_MS, spreadCloses, spreadWindowMs } from './close-spread';

describe('spreadCloses', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('closes every socket once, in random order, at no more than CLOSES_PER_SECOND', async () => {
    const closed: number[] = [];
    const n = 250;
    const spread = spreadCloses(Array.from({ length: n }, (_, i) => () => closed.push(i)));
    expect(closed).toEqual([]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(closed.length).toBeLessThanOrEqual(CLOSES_PER_SECOND);
    expect(closed.length).toBeGreaterThan(0);
    await jest.advanceTimersByTimeAsync(spreadWindowMs(n));
    await spread.done;
    expect(closed.length).toBe(n);
    expect(new Set(closed).size).toBe(n);
    expect(closed).not.toEqual([...closed].sort((a, b) => a - b)); // shuffled
  });

  it('closes a large set within MAX_SPREAD_MS', async () => {
    let closed = 0;
    const spread = spreadCloses(Array.from({ length: 50000 }, () => () => closed++));
    await jest.advanceTimersByTimeAsync(MAX_SPREAD_MS);
    await spread.done;
    expect(closed).toBe(50000);
  });

  it('stops when cancelled and says how many it kept', async () => {
    let closed = 0;
    const spread = spreadCloses(Array.from({ length: 300 }, () => () => closed++));
    await jest.advanceTimersByTimeAsync(1000);
    const kept = spread.cancel();
    expect(kept + closed).toBe(300);
    expect(kept).toBeGreaterThan(0);
    await jest.advanceTimersByTimeAsync(5000);
    expect(closed).toBe(300 - kept);
    await spread.done;
  });

  it('goes on past a close that throws', async () => {
    const closed: number[] = [];
    const spread = spreadCloses([() => closed.push(1), () => { throw new Error('gone'); }, () => closed.push(3)]);
    await jest.advanceTimersByTimeAsync(1000);
    await spread.done;
    expect(closed.sort()).toEqual([1, 3]);
  });
});
