import { Semaphore } from './semaphore';

const tick = () => new Promise((r) => setImmediate(r));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Semaphore', () => {
  it('never runs more than `limit` tasks at once', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let maxActive = 0;
    const gates = Array.from({ length: 10 }, deferred);
    const runs = gates.map((g) =>
      sem.run(async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await g.promise;
        active -= 1;
      }),
    );
    await tick();
    expect(active).toBe(3);
    expect(sem.queued).toBe(7);
    for (const g of gates) {
      g.resolve();
      await tick();
    }
    await Promise.all(runs);
    expect(maxActive).toBe(3);
    expect(sem.inUse).toBe(0);
  });

  it('serves waiters in arrival order', async () => {
    const sem = new Semaphore(1);
    const order: number[] = [];
    const gate = deferred();
    const first = sem.run(() => gate.promise);
    const rest = [1, 2, 3].map((n) => sem.run(async () => void order.push(n)));
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([1, 2, 3]);
  });

  it('releases the permit when the task throws', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sem.inUse).toBe(0);
    await expect(sem.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
