import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  it('runs one call for concurrent callers of the same key and gives them all its result', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    let release!: (n: number) => void;
    const fn = () => {
      calls += 1;
      return new Promise<number>((r) => (release = r));
    };
    const a = flights.run('k', fn);
    const b = flights.run('k', fn);
    expect(a.leader).toBe(true);
    expect(b.leader).toBe(false);
    release(42);
    await expect(Promise.all([a.promise, b.promise])).resolves.toEqual([42, 42]);
    expect(calls).toBe(1);
  });

  it('keeps different keys apart and forgets a key once its call settles', async () => {
    const flights = new SingleFlight<string>();
    await flights.run('a', async () => 'a').promise;
    expect(flights.size).toBe(0);
    const again = flights.run('a', async () => 'a2');
    expect(again.leader).toBe(true);
    await expect(again.promise).resolves.toBe('a2');
  });

  it('shares a failure with every waiter and then lets a new call start', async () => {
    const flights = new SingleFlight<string>();
    const a = flights.run('k', () => Promise.reject(new Error('down')));
    const b = flights.run('k', async () => 'never');
    await expect(a.promise).rejects.toThrow('down');
    await expect(b.promise).rejects.toThrow('down');
    await expect(flights.run('k', async () => 'up').promise).resolves.toBe('up');
  });
});
