/**
 * Coalesces concurrent calls with the same key into one: while a call for
 * `key` is in flight, later callers get the same promise. The entry is gone
 * as soon as the call settles, so nothing is cached here (Redis does that).
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  get size(): number {
    return this.inFlight.size;
  }

  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; leader: boolean } {
    const existing = this.inFlight.get(key);
    if (existing) return { promise: existing, leader: false };
    const promise = (async () => {
      try {
        return await fn();
      } finally {
        this.inFlight.delete(key);
      }
    })();
    this.inFlight.set(key, promise);
    return { promise, leader: true };
  }
}
