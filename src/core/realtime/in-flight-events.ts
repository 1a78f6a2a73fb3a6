/**
 * Client events being handled right now. Before the Socket.IO server closes its sockets on
 * SIGTERM it waits for them: an event whose handler was still running when its socket closed
 * never got its ack, so the client could not know whether its `message:send` was stored (the
 * rolling-deploy drill counted these lost acks, drills/RESULTS.md).
 */
export class InFlightEvents {
  private count = 0;
  private waiters: (() => void)[] = [];

  track<T>(work: Promise<T>): Promise<T> {
    this.count++;
    return work.finally(() => {
      this.count--;
      if (this.count === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once nothing is in flight, or after timeoutMs (a stuck handler must not block shutdown). */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
}
