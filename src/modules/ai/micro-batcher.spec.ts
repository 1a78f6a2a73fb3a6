import { MicroBatcher, Settled } from './micro-batcher';

describe('MicroBatcher', () => {
  afterEach(() => jest.useRealTimers());

  it('sends items that arrive within the window as one batch, each caller getting its own result', async () => {
    jest.useFakeTimers();
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({ windowMs: 20, maxSize: 10 }, async (items) => {
      batches.push(items);
      return items.map((n): Settled<number> => ({ ok: true, value: n * 10 }));
    });
    const results = Promise.all([b.add(1), b.add(2), b.add(3)]);
    expect(batches).toEqual([]);
    jest.advanceTimersByTime(20);
    await expect(results).resolves.toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('sends a full batch without waiting for the window', async () => {
    jest.useFakeTimers();
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({ windowMs: 10_000, maxSize: 2 }, async (items) => {
      batches.push(items);
      return items.map((n): Settled<number> => ({ ok: true, value: n }));
    });
    await expect(Promise.all([b.add(1), b.add(2)])).resolves.toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('sends every item on its own with a zero window', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>({ windowMs: 0, maxSize: 10 }, async (items) => {
      batches.push(items);
      return items.map((n): Settled<number> => ({ ok: true, value: n }));
    });
    await Promise.all([b.add(1), b.add(2)]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('fails only the items that failed, and all of them when the flush throws', async () => {
    const b = new MicroBatcher<number, number>({ windowMs: 5, maxSize: 10 }, async (items) =>
      items.map((n): Settled<number> => (n % 2 ? { ok: true, value: n } : { ok: false, error: new Error(`no ${n}`) })),
    );
    const [one, two] = await Promise.allSettled([b.add(1), b.add(2)]);
    expect(one).toEqual({ status: 'fulfilled', value: 1 });
    expect(two.status).toBe('rejected');
    const broken = new MicroBatcher<number, number>({ windowMs: 5, maxSize: 10 }, () => Promise.reject(new Error('flush')));
    await expect(broken.add(1)).rejects.toThrow('flush');
  });
});
